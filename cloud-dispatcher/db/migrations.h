#pragma once

// The database schema, versioned and carried in the binary. `db migrate` applies what is missing
// in one transaction under an advisory lock (two dispatchers never race); the daemon refuses a
// database whose version differs from the binary's.

#include <string>
#include <vector>

#include "core/result.h"
#include "db/pg.h"

namespace edgelink::dispatcher {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

/// Every migration, oldest first.
const std::vector<Migration>& migrations();
/// The version this binary needs.
int latestSchemaVersion();

/// What migrate() did.
struct MigrateOutcome {
  int from = 0;
  int to = 0;
  std::vector<std::string> applied;  ///< "2 sessions" ...
};

/// Applies the missing migrations (idempotent). Refuses a database newer than the binary.
Result<MigrateOutcome> migrate(pg::Connection& db);

/// The database's schema version (0: never migrated).
Result<int> schemaVersion(pg::Connection& db);

/// OK when the database is at this binary's version; otherwise an error telling the operator what
/// to do (kUnavailable for connection problems, kConflict for a version mismatch).
VoidResult checkSchema(pg::Connection& db);

/// Channels the dispatcher notifies on (LISTEN to them). Payloads are JSON objects.
inline constexpr const char* kResponseChannel = "edgelink_response";
inline constexpr const char* kSessionChannel = "edgelink_session";
inline constexpr const char* kEventChannel = "edgelink_event";

}  // namespace edgelink::dispatcher
