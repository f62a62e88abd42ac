#pragma once

// The ingest's tables, one writer each (private to ingest/): its column list, COPY row, conflict
// key and effects side by side in tables.cpp; the COPY-or-stage machinery they share and
// Store::write, which runs them in one transaction, in store.cpp.

#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "core/result.h"
#include "db/pg.h"
#include "domain/edge_requests.h"
#include "domain/model.h"
#include "domain/sessions.h"
#include "ingest/copy_writer.h"
#include "ingest/store.h"

namespace edgelink::dispatcher::tables {

/// A table the ingest COPYs into: its columns (the COPY row's order), the temp table redelivered
/// batches go through, the conflict key RETURNed for the rows that were new, and, for a table
/// whose serial column must follow Kafka's order, the order the stage's rows are inserted in (a
/// table without ORDER BY returns its rows in any order: events got their seq out of order).
struct Table {
  const char* name;
  const char* stage;
  const char* columns;
  const char* key;
  const char* order = nullptr;
};

/// Which rows of a table part were new: all of them (COPY went straight in) or these keys.
struct Inserted {
  bool all = true;
  std::unordered_set<std::string> keys;
  bool has(const std::string& key) const { return all || keys.count(key) != 0; }
};

/// COPY straight into the table; on a unique violation back to the savepoint and through the
/// stage with ON CONFLICT DO NOTHING, returning the new rows' keys (joined with NUL).
Result<Inserted> insertRows(pg::Connection& db, const Table& t, CopyWriter& w);

// A session effect, ordered by the message that caused it.
struct Effect {
  std::string edge;
  int64_t offset = 0;
  int order = 0;  // a request's own effect before its answer's
  std::variant<StartRequested, StopRequested, Answered, FrpEventSeen> what;
};

/// What the table writers share: the connection (inside the batch's transaction), the
/// statistics and the session effects they collect.
struct Writing {
  pg::Connection& db;
  StoreStats& stats;
  std::vector<Effect>& effects;
  bool collectFacts = false;                  ///< fill stats.facts (metrics on)
  RequestFactsCache* requestFacts = nullptr;  ///< with collectFacts: the lane's requests
  int64_t nowMs = 0;                          ///< wall clock when the transaction began
  /// The Kafka cluster the batch came from (kafka-cluster; "": unnamed): stored with each
  /// event, rejected message and edge heard from, and part of the keys offsets are part of.
  std::string_view kafkaCluster;

  Result<Inserted> insert(const Table& t, CopyWriter& w) {
    auto inserted = insertRows(db, t, w);
    if (inserted && !inserted->all) {
      stats.redelivered = true;
    }
    return inserted;
  }
};

/// CREATE TEMP TABLE for the table's stage.
std::string stageDdl(const Table& t);
/// COPY ... FROM STDIN (FORMAT binary).
std::string copySql(const char* table, const char* columns);
/// The rows of `table` (alias t) for these (edge, id) pairs meeting `condition`: t.edge_id,
/// t.id, then `columns`.
Result<pg::Rows> rowsFor(pg::Connection& db, const char* table, const std::string& columns,
                         const std::string& condition, const std::vector<std::string>& edges,
                         const std::vector<std::string>& ids);
/// A timestamptz column as epoch milliseconds.
std::string msColumn(const char* column);

extern const Table kRequests;
extern const Table kResponses;
extern const Table kEvents;
extern const Table kRejected;
extern const Table kEdges;
extern const Table kEdgeRequests;

/// New requests, the sweeper's deadlines for them; effects: starts, and answers that came first.
VoidResult writeRequests(Writing& w, const std::vector<RequestRow>& requests);
/// New responses and their notifications; effects: the answers to frp starts and stops.
VoidResult writeResponses(Writing& w, const std::vector<ResponseRow>& responses);
/// New events and their notification; effects: frp_started / frp_stopped.
VoidResult writeEvents(Writing& w, const std::vector<EventRow>& events);
VoidResult writeRejected(Writing& w, const std::vector<RejectedRow>& rejected);
/// Requests boards sent to the cloud, each answered through `handlers` and stored with its
/// answer; a redelivered one gets the answer stored before. Fills stats.edgeAnswers (one per
/// request, in order) for the writer to produce once the transaction has committed.
VoidResult writeEdgeRequests(Writing& w, const std::vector<EdgeRequestRow>& requests,
                             const EdgeRequestHandlers& handlers);
/// The edges upsert through its stage (merged, never a conflict).
VoidResult writeEdges(Writing& w, const std::vector<EdgeUpdate>& edges);

}  // namespace edgelink::dispatcher::tables
