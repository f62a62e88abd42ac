#include "ingest/store.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <optional>
#include <tuple>
#include <unordered_set>
#include <variant>

#include "core/clock.h"
#include "core/logging.h"
#include "db/migrations.h"
#include "domain/sessions.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"
#include "ingest/copy_writer.h"
#include "ingest/tables.h"

namespace edgelink::dispatcher {

const char* const kResponseColumns =
    "edge_id, id, sender, type, status_code, status, description, sent_at, received_at, body,"
    " kafka_partition, kafka_offset";

void addResponseRow(CopyWriter& w, const ResponseRow& r) {
  w.row(12);
  w.text(r.edgeId);
  w.text(r.id);
  w.text(r.sender);
  w.textOrNull(r.type);
  w.int4(r.statusCode);
  w.textOrNull(r.status);
  w.textOrNull(r.description);
  w.timestamp(r.sentAtMs);
  w.timestamp(r.receivedAtMs);
  w.jsonb(r.bodyJson);
  w.int4(r.partition);
  w.int8(r.offset);
}

const char* const kNotifyResponsesSql =
    "SELECT count(pg_notify('edgelink_response', row_to_json(p)::text)) FROM (SELECT u.edge_id,"
    " u.id, u.status_code, CASE WHEN u.status_code BETWEEN 200 AND 299 THEN 'succeeded'"
    " WHEN u.status_code = 408 THEN 'stale' ELSE 'failed' END AS state"
    " FROM unnest($1::text[], $2::text[], $3::int[]) WITH ORDINALITY AS u(edge_id, id,"
    " status_code, n) ORDER BY u.n) p";

Result<TimeoutSweep> sweepTimeouts(pg::Connection& db, int64_t limit) {
  // One statement, so one transaction: the due deadlines leave the work list, the unanswered
  // requests among them are marked, and each marked one is notified -- or none of it happens.
  static const std::string sql =
      "WITH due AS (DELETE FROM request_deadlines WHERE ctid = ANY(ARRAY("
      "  SELECT ctid FROM request_deadlines WHERE deadline < now() ORDER BY deadline LIMIT $1"
      "  FOR UPDATE SKIP LOCKED)) RETURNING edge_id, id),"
      " marked AS (UPDATE requests r SET timed_out_at = now()"
      "  FROM (SELECT DISTINCT edge_id, id FROM due) d"
      "  WHERE r.edge_id = d.edge_id AND r.id = d.id AND r.timed_out_at IS NULL"
      "  AND NOT EXISTS (SELECT 1 FROM responses s WHERE s.edge_id = r.edge_id AND s.id = r.id)"
      "  RETURNING r.edge_id, r.id, r.deadline, r.type)"
      " SELECT (SELECT count(*) FROM due),"
      " (SELECT count(pg_notify('" +
      std::string(kResponseChannel) +
      "', row_to_json(p)::text)) FROM (SELECT m.edge_id, m.id, NULL::int AS status_code,"
      "  'timeout' AS state FROM marked m ORDER BY m.deadline, m.edge_id, m.id) p),"
      " (SELECT COALESCE(json_object_agg(c.type, c.n), '{}')::text FROM"
      "  (SELECT type, count(*) AS n FROM marked GROUP BY type) c)";
  TimeoutSweep total;
  for (;;) {
    auto rows = db.exec(sql, {std::to_string(limit)});
    if (!rows) {
      return rows.error();
    }
    const int64_t swept = rows->int64(0, 0);
    total.swept += swept;
    total.timedOut += rows->int64(0, 1);
    rapidjson::Document byType;
    byType.Parse(rows->view(0, 2).data(), rows->view(0, 2).size());
    if (!byType.HasParseError() && byType.IsObject()) {
      for (const auto& m : byType.GetObject()) {
        if (m.value.IsInt64()) {
          total.timedOutByType[m.name.GetString()] += m.value.GetInt64();
        }
      }
    }
    if (swept < limit) {
      return total;
    }
  }
}

namespace tables {

std::string stageDdl(const Table& t) {
  return std::string("CREATE TEMP TABLE IF NOT EXISTS ") + t.stage +
         " ON COMMIT DELETE ROWS AS SELECT " + t.columns + " FROM " + t.name + " WITH NO DATA";
}

std::string copySql(const char* table, const char* columns) {
  return std::string("COPY ") + table + " (" + columns + ") FROM STDIN (FORMAT binary)";
}

/// COPY straight into the table; on a unique violation back to the savepoint and through the
/// stage with ON CONFLICT DO NOTHING, returning the new rows' keys (joined with NUL).
Result<Inserted> insertRows(pg::Connection& db, const Table& t, CopyWriter& w) {
  const std::string_view data = w.finish();
  if (auto r = db.run("SAVEPOINT straight"); !r) {
    return r.error();
  }
  if (auto copied = db.copyIn(copySql(t.name, t.columns), data); copied) {
    if (auto r = db.run("RELEASE SAVEPOINT straight"); !r) {
      return r.error();
    }
    return Inserted{};
  } else if (copied.error().field != pg::kUniqueViolation) {
    return copied.error();
  }
  if (auto r = db.run("ROLLBACK TO SAVEPOINT straight"); !r) {
    return r.error();
  }
  if (auto r = db.copyIn(copySql(t.stage, t.columns), data); !r) {
    return r.error();
  }
  auto rows =
      db.exec(std::string("INSERT INTO ") + t.name + " (" + t.columns + ") SELECT " + t.columns +
              " FROM " + t.stage + (t.order ? std::string(" ORDER BY ") + t.order : "") +
              " ON CONFLICT DO NOTHING RETURNING " + t.key);
  if (!rows) {
    return rows.error();
  }
  Inserted out;
  out.all = false;
  for (int i = 0; i < rows->size(); ++i) {
    std::string key;
    for (int c = 0; c < rows->columns(); ++c) {
      if (c > 0) {
        key.push_back('\0');
      }
      key.append(rows->view(i, c));
    }
    out.keys.insert(std::move(key));
  }
  return out;
}

/// The rows of `table` (alias t) for these (edge, id) pairs meeting `condition`: t.edge_id,
/// t.id, then `columns`.
Result<pg::Rows> rowsFor(pg::Connection& db, const char* table, const std::string& columns,
                         const std::string& condition, const std::vector<std::string>& edges,
                         const std::vector<std::string>& ids) {
  if (edges.empty()) {
    return pg::Rows();
  }
  return db.exec(std::string("SELECT t.edge_id, t.id") + columns + " FROM " + table +
                     " t JOIN unnest($1::text[], $2::text[]) AS k(edge_id, id)"
                     " ON t.edge_id = k.edge_id AND t.id = k.id WHERE " +
                     condition,
                 {textArrayLiteral(edges), textArrayLiteral(ids)});
}

std::string msColumn(const char* column) {
  return std::string("(extract(epoch FROM ") + column + ") * 1000)::bigint";
}

}  // namespace tables

namespace {

using namespace tables;

// ---- session effects --------------------------------------------------------------------------

/// Applies the effects of what is new, in message order (per edge: offset, then a request's
/// own effect before its answer's).
VoidResult applyEffects(Writing& w, const Options& options) {
  std::stable_sort(w.effects.begin(), w.effects.end(), [](const Effect& a, const Effect& b) {
    return std::tie(a.edge, a.offset, a.order) < std::tie(b.edge, b.offset, b.order);
  });
  Sessions sessions(w.db, options);
  if (w.collectFacts) {
    sessions.countInto(&w.stats.facts.sessions);
  }
  for (const auto& e : w.effects) {
    VoidResult r;
    if (const auto* s = std::get_if<StartRequested>(&e.what)) {
      r = sessions.onStartRequested(*s);
    } else if (const auto* stop = std::get_if<StopRequested>(&e.what)) {
      r = sessions.onStopRequested(*stop);
    } else if (const auto* a = std::get_if<Answered>(&e.what)) {
      r = sessions.onAnswered(*a);
    } else {
      r = sessions.onFrpEvent(std::get<FrpEventSeen>(e.what));
    }
    if (!r) {
      return r;
    }
    ++w.stats.sessionEffects;
  }
  return {};
}

}  // namespace

std::string textArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out.push_back(',');
    }
    out.push_back('"');
    for (char c : values[i]) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

VoidResult Store::prepare(pg::Connection& db) {
  edgesWritten_.clear();
  std::string ddl;
  for (const Table* t : {&kRequests, &kResponses, &kEvents, &kRejected, &kEdges, &kEdgeRequests}) {
    ddl += (ddl.empty() ? "" : ";") + stageDdl(*t);
  }
  return db.run(ddl);
}

std::vector<EdgeUpdate> Store::edgesToWrite(const Batch& batch) const {
  std::vector<EdgeUpdate> edges;
  for (auto& u : batch.edgeUpdates()) {
    auto it = edgesWritten_.find(u.edgeId);
    if (edgeWriteNeeded(
            u, it == edgesWritten_.end() ? std::nullopt : std::optional<int64_t>(it->second))) {
      edges.push_back(std::move(u));
    }
  }
  return edges;
}

Result<StoreStats> Store::write(pg::Connection& db, const Batch& batch) {
  StoreStats stats;
  auto tx = pg::Transaction::begin(db);
  if (!tx) {
    return tx.error();
  }
  std::vector<Effect> effects;
  const int64_t nowMs = SystemClock::instance().wallMs();
  Writing w{db, stats, effects, collectFacts_, &requestFacts_, nowMs, options_.kafkaCluster};
  const std::vector<EdgeUpdate> edges = edgesToWrite(batch);
  // Requests before responses: an answer in the same batch then finds its request stored.
  VoidResult r;
  if (r && !batch.requests().empty()) {
    r = writeRequests(w, batch.requests());
  }
  if (r && !batch.responses().empty()) {
    r = writeResponses(w, batch.responses());
  }
  if (r && !batch.events().empty()) {
    r = writeEvents(w, batch.events());
  }
  if (r && !batch.edgeRequests().empty()) {
    r = writeEdgeRequests(w, batch.edgeRequests(), handlers_);
  }
  if (r && !batch.rejected().empty()) {
    r = writeRejected(w, batch.rejected());
  }
  if (r && !edges.empty()) {
    r = writeEdges(w, edges);
  }
  if (r && !effects.empty()) {
    r = applyEffects(w, options_);
  }
  if (!r) {
    return r.error();
  }
  if (auto c = tx.value()->commit(); !c) {
    return c.error();
  }
  for (const auto& u : edges) {
    int64_t& seen = edgesWritten_[u.edgeId];
    seen = std::max(seen, u.lastSeenMs.value_or(0));
  }
  return stats;
}

}  // namespace edgelink::dispatcher
