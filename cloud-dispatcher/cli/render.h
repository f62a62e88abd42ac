#pragma once

// Output for the CLI (pure): records rendered as aligned tables for humans or JSON for scripts,
// and the exit codes.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgelink::dispatcher {

/// Exit codes of every cloud-dispatcher command (documented in docs/DISPATCHER.md).
enum ExitCode : int {
  kExitOk = 0,        ///< done; the edge answered 2xx
  kExitFailed = 1,    ///< the edge answered non-2xx, or the command was refused (a live session,
                      ///< the pool exhausted, an unknown or offline edge, no session to close)
  kExitUsage = 2,     ///< bad flags, config or arguments
  kExitTimeout = 3,   ///< no answer within --wait
  kExitKafka = 4,     ///< Kafka unreachable or refusing (produce, admin)
  kExitDatabase = 5,  ///< PostgreSQL unreachable, or its schema not migrated
  kExitNotFound = 6,  ///< no such request, session or edge (`requests show`, `sessions show`,
                      ///< `edges show`)
};

/// 0 for a 2xx answer, kExitFailed otherwise.
int exitCodeForAnswer(int statusCode);
/// The exit code for an error from PostgreSQL (usage for 400s raised by our own checks).
int exitCodeForDbError(const Error& e);
/// The exit code for the signing key's error: no key (404, `keys generate`) is a usage error.
int exitCodeForKeyError(const Error& e);

enum class FieldKind { kNull, kString, kNumber, kBool, kJson, kTimestamp };

/// One named value. kJson holds JSON text (emitted as is); kTimestamp holds RFC 3339 text.
struct Field {
  std::string name;
  FieldKind kind = FieldKind::kNull;
  std::string text;
};
using Record = std::vector<Field>;

Field stringField(std::string name, std::string value);
Field numberField(std::string name, int64_t value);
Field boolField(std::string name, bool value);
Field nullField(std::string name);

/// The value of a record's field ("" when absent or null).
std::string fieldText(const Record& r, std::string_view name);
const Field* findField(const Record& r, std::string_view name);

/// A column of a table: which field, its header, and an optional cut (0: none).
struct Column {
  std::string field;
  std::string header;
  size_t maxWidth = 0;
};

/// An aligned table with a header line. Empty list: "(none)".
std::string renderTable(const std::vector<Record>& records, const std::vector<Column>& columns);
/// "name: value" lines (JSON fields compact).
std::string renderDetail(const Record& record);
/// One JSON object.
std::string renderJsonObject(const Record& record);
/// A JSON array of objects.
std::string renderJsonArray(const std::vector<Record>& records);

/// PostgreSQL's "2026-11-21 08:00:00.123+00" as "2026-11-21T08:00:00.123Z" (as is when it does
/// not parse).
std::string pgTimestampToRfc3339(std::string_view text);
/// "2026-11-21T08:00:00.123Z" shown as "2026-11-21 08:00:00" in tables.
std::string shortTimestamp(std::string_view rfc3339);

}  // namespace edgelink::dispatcher
