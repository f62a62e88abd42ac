// The per-table writer of ingest/tables.h for the requests boards send to the cloud: each is
// answered through the registry (domain/edge_requests.h) inside the batch's transaction and
// stored with its answer; a request stored before (redelivered) keeps, and is sent again, the
// answer stored with it. The writer produces the answers once the transaction has committed.
#include <unordered_map>

#include "ingest/tables.h"  // this file is a third of tables.cpp: the one header for all

namespace edgelink::dispatcher::tables {

const Table kEdgeRequests{"edge_requests", "stage_edge_requests",
                          "edge_id, id, sender, type, sent_at, received_at, body, status_code,"
                          " answer, kafka_partition, kafka_offset",
                          "edge_id, sender, id"};

namespace {

void addEdgeRequestRow(CopyWriter& w, const EdgeRequestRow& r, const EdgeAnswer& a) {
  w.row(11);
  w.text(r.edgeId);
  w.text(r.id);
  w.text(r.sender);
  w.text(r.type);
  w.timestamp(r.sentAtMs);
  w.timestamp(r.receivedAtMs);
  w.jsonb(r.bodyJson);
  w.int4(a.statusCode);
  w.jsonb(a.bodyJson);
  w.int4(r.partition);
  w.int8(r.offset);
}

std::string edgeRequestKey(const EdgeRequestRow& r) {
  return r.edgeId + '\0' + r.sender + '\0' + r.id;
}

/// The answers stored with these requests (stored before: redelivered), keyed as RETURNed.
Result<std::unordered_map<std::string, EdgeAnswer>> storedEdgeAnswers(
    pg::Connection& db, const std::vector<const EdgeRequestRow*>& again) {
  std::vector<std::string> edges;
  std::vector<std::string> senders;
  std::vector<std::string> ids;
  for (const EdgeRequestRow* r : again) {
    edges.push_back(r->edgeId);
    senders.push_back(r->sender);
    ids.push_back(r->id);
  }
  auto rows = db.exec(
      "SELECT t.edge_id, t.sender, t.id, t.status_code, t.answer::text FROM edge_requests t"
      " JOIN unnest($1::text[], $2::text[], $3::text[]) AS k(edge_id, sender, id)"
      " ON t.edge_id = k.edge_id AND t.sender = k.sender AND t.id = k.id",
      {textArrayLiteral(edges), textArrayLiteral(senders), textArrayLiteral(ids)});
  if (!rows) {
    return rows.error();
  }
  std::unordered_map<std::string, EdgeAnswer> out;
  for (int i = 0; i < rows->size(); ++i) {
    std::string key = rows->str(i, 0) + '\0' + rows->str(i, 1) + '\0' + rows->str(i, 2);
    out[std::move(key)] = EdgeAnswer{static_cast<int>(rows->int64(i, 3)), rows->str(i, 4)};
  }
  return out;
}

}  // namespace

VoidResult writeEdgeRequests(Writing& w, const std::vector<EdgeRequestRow>& requests,
                             const EdgeRequestHandlers& handlers) {
  std::vector<EdgeAnswer> answers;
  CopyWriter rows;
  for (const auto& r : requests) {
    auto a = handlers.answer(w.db, r);
    if (!a) {
      return a.error();
    }
    addEdgeRequestRow(rows, r, *a);
    answers.push_back(std::move(a).value());
  }
  auto inserted = w.insert(kEdgeRequests, rows);
  if (!inserted) {
    return inserted.error();
  }
  std::vector<const EdgeRequestRow*> again;
  for (const auto& r : requests) {
    if (!inserted->has(edgeRequestKey(r))) {
      again.push_back(&r);
    }
  }
  std::unordered_map<std::string, EdgeAnswer> stored;
  if (!again.empty()) {
    auto s = storedEdgeAnswers(w.db, again);
    if (!s) {
      return s.error();
    }
    stored = std::move(s).value();
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    EdgeAnswered out;
    out.index = i;
    auto it = stored.find(edgeRequestKey(requests[i]));
    out.redelivered = it != stored.end();
    const EdgeAnswer& a = out.redelivered ? it->second : answers[i];
    out.statusCode = a.statusCode;
    out.bodyJson = a.bodyJson;
    w.stats.edgeAnswers.push_back(std::move(out));
  }
  return {};
}

}  // namespace edgelink::dispatcher::tables
