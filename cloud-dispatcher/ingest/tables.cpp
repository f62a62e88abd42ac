#include "ingest/tables.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <unordered_map>

#include "core/logging.h"
#include "db/migrations.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"

namespace edgelink::dispatcher::tables {

// ---- requests (and the sweeper's deadlines) ---------------------------------------------------

const Table kRequests{"requests", "stage_requests",
                      "edge_id, id, id_is_number, type, sender, description, sent_at, seen_at,"
                      " deadline, body, kafka_partition, kafka_offset, expires_at",
                      "edge_id, id"};

namespace {

void addRequestRow(CopyWriter& w, const RequestRow& r) {
  w.row(13);
  w.text(r.edgeId);
  w.text(r.id);
  w.boolean(r.idIsNumber);
  w.text(r.type);
  w.text(r.sender);
  w.textOrNull(r.description);
  w.timestamp(r.sentAtMs);
  w.timestamp(r.seenAtMs);
  w.timestamp(r.deadlineMs);
  w.jsonb(r.bodyJson);
  if (r.offset >= 0) {
    w.int4(r.partition);
    w.int8(r.offset);
  } else {
    w.null();
    w.null();
  }
  w.optTimestamp(r.expiresAtMs);
}

/// The sweeper's work list: every new request until its deadline (answered or not).
VoidResult writeDeadlines(Writing& w, const std::vector<const RequestRow*>& fresh) {
  if (fresh.empty()) {
    return {};
  }
  CopyWriter rows;
  for (const RequestRow* r : fresh) {
    rows.row(3);
    rows.text(r->edgeId);
    rows.text(r->id);
    rows.timestamp(r->deadlineMs);
  }
  return w.db.copyIn(copySql("request_deadlines", "edge_id, id, deadline"), rows.finish());
}

/// The answers stored before these new frp requests (an answer may come first), keyed by
/// correlation key.
Result<std::unordered_map<std::string, Answered>> storedAnswers(
    pg::Connection& db, const std::vector<const RequestRow*>& frp) {
  std::vector<std::string> edges;
  std::vector<std::string> ids;
  for (const RequestRow* r : frp) {
    edges.push_back(r->edgeId);
    ids.push_back(r->id);
  }
  auto rows =
      rowsFor(db, "responses", ", t.status_code, t.body::text, " + msColumn("t.received_at"),
              "true", edges, ids);
  if (!rows) {
    return rows.error();
  }
  std::unordered_map<std::string, Answered> out;
  for (int i = 0; i < rows->size(); ++i) {
    Answered a;
    a.statusCode = static_cast<int>(rows->int64(i, 2));
    rapidjson::Document body;
    body.Parse(rows->view(i, 3).data(), rows->view(i, 3).size());
    if (!body.HasParseError()) {
      a.info = readFrpInfo(body);
    }
    a.answeredAtMs = rows->int64(i, 4);
    out.emplace(correlationKey(rows->view(i, 0), rows->view(i, 1)), std::move(a));
  }
  return out;
}

}  // namespace

VoidResult writeRequests(Writing& w, const std::vector<RequestRow>& requests) {
  CopyWriter rows;
  for (const auto& r : requests) {
    addRequestRow(rows, r);
  }
  auto inserted = w.insert(kRequests, rows);
  if (!inserted) {
    return inserted.error();
  }
  std::vector<const RequestRow*> fresh;
  std::vector<const RequestRow*> frp;
  for (const auto& r : requests) {
    if (inserted->has(correlationKey(r.edgeId, r.id))) {
      fresh.push_back(&r);
      if (r.frp) {
        frp.push_back(&r);
      }
    }
  }
  if (w.collectFacts) {
    // Every request consumed, also those already recorded (the CLI records the requests it
    // sends before publishing them): their answers may follow.
    for (const auto& r : requests) {
      ++w.stats.facts.newRequests[r.type];
      if (w.requestFacts->size() >= kRequestFactsCap) {
        w.requestFacts->clear();  // requests never answered: bounded, forgotten in bulk
      }
      (*w.requestFacts)[correlationKey(r.edgeId, r.id)] = {r.type, r.sentAtMs, r.deadlineMs};
    }
  }
  if (auto d = writeDeadlines(w, fresh); !d) {
    return d;
  }
  auto answers = storedAnswers(w.db, frp);
  if (!answers) {
    return answers.error();
  }
  for (const RequestRow* r : frp) {
    // Who asked, for the audit trail: the sender, and the key id when the signature verified.
    const AuditActor actor =
        requestActor(r->sender, r->signature.value_or(security::Verification{}));
    if (r->frp->action == envelope::FrpAction::kStart) {
      StartRequested s{r->edgeId,
                       r->id,
                       r->sender,
                       {},
                       r->frp->autoStopSeconds,
                       std::min(r->sentAtMs, r->seenAtMs),
                       actor};
      for (const auto& [name, port] : r->frp->services) {
        s.services[name] = port;
      }
      w.effects.push_back({r->edgeId, r->offset, 0, std::move(s)});
    } else if (r->frp->action == envelope::FrpAction::kStop) {
      w.effects.push_back({r->edgeId, r->offset, 0, StopRequested{r->edgeId, r->id, actor}});
    }
    auto a = answers->find(correlationKey(r->edgeId, r->id));
    if (a != answers->end()) {
      Answered e = std::move(a->second);
      e.edgeId = r->edgeId;
      e.requestId = r->id;
      e.command = *r->frp;
      e.sender = r->sender;
      e.sentAtMs = r->sentAtMs;
      w.effects.push_back({r->edgeId, r->offset, 1, std::move(e)});
    }
  }
  return {};
}

// ---- responses (and their notifications) ------------------------------------------------------

const Table kResponses{"responses", "stage_responses", kResponseColumns, "edge_id, id"};

namespace {

/// The frp start/stop requests these new answers answer, keyed by correlation key: their
/// command as the request said it, who sent it and when.
Result<std::unordered_map<std::string, Answered>> answeredFrpRequests(
    pg::Connection& db, const std::vector<const ResponseRow*>& fresh) {
  std::vector<std::string> edges;
  std::vector<std::string> ids;
  for (const ResponseRow* r : fresh) {
    if (r->frp) {  // answers that echo a non-frp type need no look at their request
      edges.push_back(r->edgeId);
      ids.push_back(r->id);
    }
  }
  auto rows =
      rowsFor(db, "requests", ", t.type, t.body::text, t.sender, " + msColumn("t.sent_at"),
              "t.type IN ('change_frp_client_config', 'frp_start', 'frp_stop')", edges, ids);
  if (!rows) {
    return rows.error();
  }
  std::unordered_map<std::string, Answered> out;
  for (int i = 0; i < rows->size(); ++i) {
    rapidjson::Document body;
    body.Parse(rows->view(i, 3).data(), rows->view(i, 3).size());
    auto cmd = body.HasParseError() ? Result<envelope::FrpCommand>(Error(
                                          Status::kBadRequest, "stored request body is not JSON"))
                                    : envelope::readFrpCommand(rows->str(i, 2), body);
    if (!cmd) {
      log::get("dispatcher")
          ->warn("edge {} request {}: cannot read its frp command: {}", rows->view(i, 0),
                 rows->view(i, 1), cmd.error().describe());
      continue;
    }
    Answered a;
    a.command = std::move(*cmd);
    a.sender = rows->str(i, 4);
    a.sentAtMs = rows->int64(i, 5);
    out.emplace(correlationKey(rows->view(i, 0), rows->view(i, 1)), std::move(a));
  }
  return out;
}

std::string answerState(int statusCode) {
  return statusCode == 408                          ? "stale"
         : (statusCode >= 200 && statusCode <= 299) ? "succeeded"
                                                    : "failed";
}

/// Metrics: what these new answers did to their requests (type, final state, round trip, late).
/// Requests this lane saw, still before their deadline, are known without a query; the rest
/// (seen by another dispatcher or before a restart, or past the deadline: the sweeper may have
/// marked them) are read, one index lookup each. Answers without a stored request finish nothing.
VoidResult collectAnswered(Writing& w, const std::vector<const ResponseRow*>& fresh) {
  std::vector<const ResponseRow*> unknown;
  for (const ResponseRow* r : fresh) {
    auto it = w.requestFacts->find(correlationKey(r->edgeId, r->id));
    if (it == w.requestFacts->end()) {
      unknown.push_back(r);
      continue;
    }
    if (it->second.deadlineMs > w.nowMs && r->receivedAtMs <= it->second.deadlineMs) {
      w.stats.facts.answered.push_back(
          {it->second.type, answerState(r->statusCode), it->second.sentAtMs, false, false});
    } else {
      unknown.push_back(r);
    }
    w.requestFacts->erase(it);
  }
  if (unknown.empty()) {
    return {};
  }
  std::vector<std::string> edges;
  std::vector<std::string> ids;
  for (const ResponseRow* r : unknown) {
    edges.push_back(r->edgeId);
    ids.push_back(r->id);
  }
  // LATERAL ... LIMIT 1: an index lookup per answer (a plain join hashes the whole table).
  auto rows = w.db.exec(
      "SELECT k.edge_id, k.id, t.type, " + msColumn("t.sent_at") + ", " + msColumn("t.deadline") +
          ", t.timed_out_at IS NOT NULL FROM unnest($1::text[], $2::text[]) AS k(edge_id, id)"
          " CROSS JOIN LATERAL (SELECT * FROM requests r WHERE r.edge_id = k.edge_id"
          " AND r.id = k.id LIMIT 1) t",
      {textArrayLiteral(edges), textArrayLiteral(ids)});
  if (!rows) {
    return rows.error();
  }
  std::unordered_map<std::string, int> requestRow;
  for (int i = 0; i < rows->size(); ++i) {
    requestRow.emplace(correlationKey(rows->view(i, 0), rows->view(i, 1)), i);
  }
  for (const ResponseRow* r : unknown) {
    auto it = requestRow.find(correlationKey(r->edgeId, r->id));
    if (it == requestRow.end()) {
      continue;
    }
    const int i = it->second;
    AnsweredFact a;
    a.type = rows->str(i, 2);
    a.state = answerState(r->statusCode);
    a.requestSentMs = rows->int64(i, 3);
    a.late = r->receivedAtMs > rows->int64(i, 4);
    a.timedOutBefore = rows->boolean(i, 5);
    w.stats.facts.answered.push_back(std::move(a));
  }
  return {};
}

/// Waiters LISTEN: one notification per new response, or one for a large batch.
VoidResult notifyResponses(pg::Connection& db, const std::vector<const ResponseRow*>& fresh) {
  if (fresh.empty()) {
    return {};
  }
  Result<pg::Rows> n = pg::Rows();
  if (fresh.size() <= kNotifyEachUpTo) {
    std::vector<std::string> edges;
    std::vector<std::string> ids;
    std::vector<std::string> codes;
    for (const ResponseRow* r : fresh) {
      edges.push_back(r->edgeId);
      ids.push_back(r->id);
      codes.push_back(std::to_string(r->statusCode));
    }
    n = db.exec(kNotifyResponsesSql,
                {textArrayLiteral(edges), textArrayLiteral(ids), textArrayLiteral(codes)});
  } else {
    n = db.exec(std::string("SELECT pg_notify('") + kResponseChannel +
                    "', row_to_json(p)::text) FROM (SELECT true AS batch, $1::int AS responses) p",
                {std::to_string(fresh.size())});
  }
  if (!n) {
    return n.error();
  }
  return {};
}

}  // namespace

VoidResult writeResponses(Writing& w, const std::vector<ResponseRow>& responses) {
  CopyWriter rows;
  for (const auto& r : responses) {
    addResponseRow(rows, r);
  }
  auto inserted = w.insert(kResponses, rows);
  if (!inserted) {
    return inserted.error();
  }
  std::vector<const ResponseRow*> fresh;
  for (const auto& r : responses) {
    if (inserted->has(correlationKey(r.edgeId, r.id))) {
      fresh.push_back(&r);
    }
  }
  if (w.collectFacts && !fresh.empty()) {
    if (auto c = collectAnswered(w, fresh); !c) {
      return c;
    }
  }
  auto requests = answeredFrpRequests(w.db, fresh);
  if (!requests) {
    return requests.error();
  }
  for (const ResponseRow* r : fresh) {
    auto q = requests->find(correlationKey(r->edgeId, r->id));
    if (q == requests->end()) {
      continue;
    }
    Answered e = std::move(q->second);
    e.edgeId = r->edgeId;
    e.requestId = r->id;
    e.statusCode = r->statusCode;
    e.info = *r->frp;
    e.answeredAtMs = r->receivedAtMs;
    w.effects.push_back({r->edgeId, r->offset, 1, std::move(e)});
  }
  return notifyResponses(w.db, fresh);
}

}  // namespace edgelink::dispatcher::tables
