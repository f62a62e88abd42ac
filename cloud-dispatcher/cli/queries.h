#pragma once

// What the CLI reads from PostgreSQL, as records for rendering.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cli/render.h"
#include "core/result.h"
#include "db/pg.h"
#include "options.h"

namespace edgelink::dispatcher {

/// Rows as records; field kinds follow the column types (timestamps become RFC 3339).
std::vector<Record> toRecords(const pg::Rows& rows);

/// The request states (`requests list --status`).
bool isRequestState(const std::string& state);

struct RequestFilter {
  std::string edge;
  std::string status;  ///< pending, succeeded, failed, stale, timeout
  std::string type;
  std::optional<int64_t> sinceMs;
  int limit = 50;
};

/// Newest first.
Result<std::vector<Record>> listRequests(pg::Connection& db, const RequestFilter& f);
/// Every request with this id (on any edge unless `edge` is set), and responses whose request was
/// not seen (state "unmatched").
Result<std::vector<Record>> showRequest(pg::Connection& db, const std::string& id,
                                        const std::string& edge);

/// Newest first; `active`: live sessions only. Adds "connect" hints from `options`.
Result<std::vector<Record>> listSessions(pg::Connection& db, const Options& options, bool active,
                                         const std::string& edge, int limit);
/// One session by id (with hints).
Result<std::vector<Record>> showSession(pg::Connection& db, const Options& options,
                                        int64_t sessionId);

enum class EdgeFilter { kAll, kOnline, kOffline };
/// Online: a heartbeat within `options.offlineAfterSeconds` and no agent_stopping since.
/// `label` set: only the edges carrying it (edge_labels).
Result<std::vector<Record>> listEdges(pg::Connection& db, const Options& options, EdgeFilter f,
                                      const std::string& edge, int limit,
                                      const std::string& label = "");

/// An edge record's agent_metrics (the stored heartbeat metrics) read through the typed model:
/// with `json` the model's JSON again; else one field per metric, named as on the wire, counts
/// of requests as "ok 12, rejected 1, ...". No metrics: left as is.
void expandAgentMetrics(Record& record, bool json);

/// Beyond this, a board's clock offset from broker time is shown as off (the agent's default
/// max-clock-skew).
inline constexpr int64_t kClockToleranceMs = 60'000;
/// "+3h12m" / "-45s": an offset for people (rounded down to seconds; hours and minutes above).
std::string formatClockOffset(int64_t offsetMs);
/// Adds the field "clock" after an edge record's clock_offset_ms: "in sync" within
/// kClockToleranceMs, "clock +3h12m off" beyond, null when not known.
void addClockField(Record& record);

/// The newest `limit` events (oldest first); each record ends with the field "xact" (the
/// transaction that stored it, see eventsSince).
Result<std::vector<Record>> listEvents(pg::Connection& db, const std::string& edge,
                                       const std::string& type, int limit);
/// The id of the oldest transaction still running (or the next one): every event stored by an
/// older transaction is visible now, or never will be.
Result<int64_t> eventHorizon(pg::Connection& db);
/// Events stored by transactions from `fromXact` on, with seq after `afterSeq` (oldest first, at
/// most `limit`); each record ends with the field "xact".
Result<std::vector<Record>> eventsSince(pg::Connection& db, const std::string& edge,
                                        const std::string& type, int64_t fromXact, int64_t afterSeq,
                                        int limit);

/// Schema version, row counts and the dispatchers' rows.
Result<std::vector<Record>> listDispatchers(pg::Connection& db);

/// "ssh 31022, fcc_web 31023" from a services JSON object.
std::string describeServices(const std::string& servicesJson);
/// "ssh: ssh -p 31022 root@frps.example.com; fcc_web: http://..."
std::string connectHints(const Options& options, const std::string& servicesJson);

}  // namespace edgelink::dispatcher
