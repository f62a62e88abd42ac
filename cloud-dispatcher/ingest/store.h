#pragma once

// Writes a Batch to PostgreSQL in one transaction, one writer per table (store.cpp keeps each
// table's column list, COPY row, conflict key and effects side by side). Each kind of row is
// COPYed (binary) straight into its table; when a row exists already (a redelivered batch:
// unique violation) the table's part rolls back to a savepoint and goes through a staging table
// with INSERT ... ON CONFLICT DO NOTHING, so redelivery changes nothing. Then: NOTIFY for new
// responses and events, the edges upsert (GREATEST/LEAST merges; writes that would change nothing
// are skipped), and the session effects of what is new, in message order.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "core/result.h"
#include "db/pg.h"
#include "domain/edge_requests.h"
#include "domain/model.h"
#include "ingest/copy_writer.h"
#include "observe/metrics.h"
#include "options.h"

namespace edgelink::dispatcher {

/// The answer to one of a batch's edge requests (Batch::edgeRequests()[index]), to be produced
/// to the edge's topic once the transaction has committed.
struct EdgeAnswered {
  size_t index = 0;
  int statusCode = 0;
  std::string bodyJson;
  bool redelivered = false;  ///< the request was stored before: its stored answer, again
};

struct StoreStats {
  bool redelivered = false;  ///< some rows existed already (the staging path was taken)
  size_t sessionEffects = 0;
  size_t edgesWritten = 0;
  StoredFacts facts;                      ///< filled when the Store collects facts (metrics on)
  std::vector<EdgeAnswered> edgeAnswers;  ///< one per edge request of the batch
};

/// Batches with at most this many new responses notify each one; larger ones send one
/// {"batch": true, ...} notification (listeners then re-check what they wait for).
inline constexpr size_t kNotifyEachUpTo = 256;

/// Column lists and binary COPY rows of the tables the ingest writes (shared with the benchmark's
/// raw COPY, so both send the very same bytes).
extern const char* const kResponseColumns;
void addResponseRow(CopyWriter& w, const ResponseRow& r);

/// Notifications: every payload on every channel is compact JSON written by PostgreSQL's
/// row_to_json (the one encoder; the sessions' trigger uses it too). Per answer on
/// edgelink_response: {"edge_id":"e1","id":"...","status_code":200,"state":"succeeded"};
/// $1 edge ids (text[]), $2 ids (text[]), $3 status codes (int[]).
extern const char* const kNotifyResponsesSql;

/// What the metrics need of a request until its answer arrives, kept by the writer lane that saw
/// it go by (a request and its answers share an edge topic, so a lane): the answers' facts then
/// need no query. Keyed by correlation key; cleared when it reaches kRequestFactsCap entries.
struct RequestFacts {
  std::string type;
  int64_t sentAtMs = 0;
  int64_t deadlineMs = 0;
};
using RequestFactsCache = std::unordered_map<std::string, RequestFacts>;
inline constexpr size_t kRequestFactsCap = 200000;

/// What one round of sweepTimeouts() did.
struct TimeoutSweep {
  int64_t swept = 0;     ///< deadlines reached (answered or not)
  int64_t timedOut = 0;  ///< requests newly marked 'timeout' (each notified once)
  std::map<std::string, int64_t> timedOutByType;
};

/// Marks requests whose deadline passed without an answer as timed out (requests.timed_out_at)
/// and notifies each once on edgelink_response, with the answers' payload shape:
/// {"edge_id":"e1","id":"...","status_code":null,"state":"timeout"}. Takes at most `limit`
/// deadlines per transaction, until none is due. Safe with several dispatchers on one database:
/// they split the due deadlines (SKIP LOCKED) and a request is marked by one of them only.
Result<TimeoutSweep> sweepTimeouts(pg::Connection& db, int64_t limit = 5000);

/// A PostgreSQL text[] literal: {"a","b\"c"}.
std::string textArrayLiteral(const std::vector<std::string>& values);

class Store {
 public:
  /// `collectFacts`: fill StoreStats::facts for the metrics (costs one more query per batch of
  /// answers: their requests' types and timestamps).
  explicit Store(const Options& options, bool collectFacts = false)
      : options_(options), collectFacts_(collectFacts) {}

  /// Creates the staging tables on a fresh connection (they live as long as it does) and forgets
  /// what it knew about the edges' rows.
  VoidResult prepare(pg::Connection& db);
  /// Stores the batch atomically. On error nothing is stored (the transaction rolled back).
  Result<StoreStats> write(pg::Connection& db, const Batch& batch);

 private:
  /// The batch's edge updates that would change the edges rows this store last wrote.
  std::vector<EdgeUpdate> edgesToWrite(const Batch& batch) const;

  const Options& options_;
  const bool collectFacts_;
  EdgeRequestHandlers handlers_ = EdgeRequestHandlers::builtIn();
  RequestFactsCache requestFacts_;
  /// edge -> last_seen this store wrote (skips rewriting edges rows that would not change).
  std::unordered_map<std::string, int64_t> edgesWritten_;
};

}  // namespace edgelink::dispatcher
