#include "cli/queries.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdlib>

#include "cli/visitor.h"
#include "domain/sessions.h"
#include "envelope/bodies.h"
#include "envelope/types.h"
#include "jsonschema/json_util.h"

namespace edgelink::dispatcher {
namespace {

constexpr Oid kBool = 16;
constexpr Oid kInt8 = 20;
constexpr Oid kInt2 = 21;
constexpr Oid kInt4 = 23;
constexpr Oid kFloat4 = 700;
constexpr Oid kFloat8 = 701;
constexpr Oid kNumeric = 1700;
constexpr Oid kJson = 114;
constexpr Oid kJsonb = 3802;
constexpr Oid kTimestamptz = 1184;

std::optional<std::string> optTimestamp(std::optional<int64_t> ms) {
  return ms ? std::optional<std::string>(std::to_string(*ms)) : std::nullopt;
}

Result<std::vector<Record>> run(pg::Connection& db, const std::string& sql,
                                const pg::Params& params) {
  auto rows = db.exec(sql, params);
  if (!rows) {
    return rows.error();
  }
  return toRecords(*rows);
}

std::string connectJson(const Options& options, const std::string& servicesJson) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  int visitorPort = kDefaultVisitorBindPort;
  for (const auto& [name, port] : parseServicesJson(servicesJson)) {
    w.Key(name.c_str());
    // stcp (no port): through the visitor, on its default local port.
    std::string hint = port == 0 ? options.connectHint(name, visitorPort++, "127.0.0.1")
                                 : options.connectHint(name, port);
    w.String(hint.c_str(), static_cast<rapidjson::SizeType>(hint.size()));
  }
  w.EndObject();
  return sb.GetString();
}

void addSessionHints(std::vector<Record>& records, const Options& options) {
  for (auto& r : records) {
    const std::string services = fieldText(r, "services");
    r.push_back(stringField("ports", describeServices(services)));
    const bool live = fieldText(r, "state") == "opening" || fieldText(r, "state") == "active";
    if (live) {
      r.push_back(Field{"connect", FieldKind::kJson, connectJson(options, services)});
    } else {
      r.push_back(nullField("connect"));
    }
  }
}

/// "ok 12, rejected 1, ..." from a JSON object of counts: the known request outcomes in their
/// order, then any others.
std::string describeCounts(const rapidjson::Value& counts) {
  namespace ro = envelope::request_outcome;
  const std::vector<std::string> order = {ro::kOk, ro::kRejected, ro::kStale, ro::kFailed,
                                          ro::kRedelivered};
  std::vector<std::pair<std::string, uint64_t>> all;
  for (const auto& m : counts.GetObject()) {
    all.emplace_back(m.name.GetString(), m.value.IsUint64() ? m.value.GetUint64() : 0);
  }
  auto rank = [&](const std::string& name) {
    return std::find(order.begin(), order.end(), name) - order.begin();
  };
  std::stable_sort(all.begin(), all.end(),
                   [&](const auto& x, const auto& y) { return rank(x.first) < rank(y.first); });
  std::string out;
  for (const auto& [name, n] : all) {
    out += (out.empty() ? "" : ", ") + name + " " + std::to_string(n);
  }
  return out;
}

}  // namespace

std::string formatClockOffset(int64_t offsetMs) {
  const int64_t total = (offsetMs < 0 ? -offsetMs : offsetMs) / 1000;
  const int64_t h = total / 3600, m = total % 3600 / 60, sec = total % 60;
  std::string out = offsetMs < 0 ? "-" : "+";
  if (h > 0) {
    out += std::to_string(h) + "h" + std::to_string(m) + "m";
  } else if (m > 0) {
    out += std::to_string(m) + "m" + std::to_string(sec) + "s";
  } else {
    out += std::to_string(sec) + "s";
  }
  return out;
}

void addClockField(Record& record) {
  auto it = std::find_if(record.begin(), record.end(),
                         [](const Field& f) { return f.name == "clock_offset_ms"; });
  if (it == record.end()) {
    return;
  }
  Field clock = nullField("clock");
  if (it->kind == FieldKind::kNumber) {
    const int64_t offset = std::stoll(it->text);
    clock = stringField("clock", std::llabs(offset) > kClockToleranceMs
                                     ? "clock " + formatClockOffset(offset) + " off"
                                     : std::string("in sync"));
  }
  record.insert(it + 1, std::move(clock));
}

void expandAgentMetrics(Record& record, bool json) {
  auto it = std::find_if(record.begin(), record.end(),
                         [](const Field& f) { return f.name == "agent_metrics"; });
  if (it == record.end() || it->kind == FieldKind::kNull) {
    return;
  }
  rapidjson::Document stored;
  stored.Parse(it->text.c_str());
  auto metrics = envelope::body::readAgentMetrics(stored);
  if (!metrics) {
    *it = stringField("agent_metrics", "unreadable: " + metrics.error().describe());
    return;
  }
  const std::string normal = envelope::body::toJson(*metrics);
  if (json) {
    *it = Field{"agent_metrics", FieldKind::kJson, normal};
    return;
  }
  // One line per metric, named as on the wire.
  rapidjson::Document d;
  d.Parse(normal.c_str());
  Record fields;
  for (const auto& m : d.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (m.value.IsObject()) {
      fields.push_back(stringField(name, describeCounts(m.value)));
    } else if (m.value.IsInt64()) {
      fields.push_back(numberField(name, m.value.GetInt64()));
    } else {
      fields.push_back(Field{name, FieldKind::kNumber, json::stringify(m.value)});
    }
  }
  it = record.erase(it);
  record.insert(it, fields.begin(), fields.end());
}

std::vector<Record> toRecords(const pg::Rows& rows) {
  std::vector<Record> out;
  out.reserve(static_cast<size_t>(rows.size()));
  std::vector<FieldKind> kinds;
  std::vector<std::string> names;
  for (int c = 0; c < rows.columns(); ++c) {
    names.push_back(rows.columnName(c));
    switch (rows.columnType(c)) {
      case kBool:
        kinds.push_back(FieldKind::kBool);
        break;
      case kInt8:
      case kInt2:
      case kInt4:
      case kFloat4:
      case kFloat8:
      case kNumeric:
        kinds.push_back(FieldKind::kNumber);
        break;
      case kJson:
      case kJsonb:
        kinds.push_back(FieldKind::kJson);
        break;
      case kTimestamptz:
        kinds.push_back(FieldKind::kTimestamp);
        break;
      default:
        kinds.push_back(FieldKind::kString);
        break;
    }
  }
  for (int r = 0; r < rows.size(); ++r) {
    Record rec;
    rec.reserve(names.size());
    for (int c = 0; c < rows.columns(); ++c) {
      if (rows.isNull(r, c)) {
        rec.push_back(nullField(names[static_cast<size_t>(c)]));
        continue;
      }
      FieldKind kind = kinds[static_cast<size_t>(c)];
      std::string text = rows.str(r, c);
      if (kind == FieldKind::kBool) {
        text = text == "t" ? "true" : "false";
      } else if (kind == FieldKind::kTimestamp) {
        text = pgTimestampToRfc3339(text);
      }
      rec.push_back(Field{names[static_cast<size_t>(c)], kind, std::move(text)});
    }
    out.push_back(std::move(rec));
  }
  return out;
}

bool isRequestState(const std::string& state) {
  return state == "pending" || state == "succeeded" || state == "failed" || state == "stale" ||
         state == "timeout";
}

Result<std::vector<Record>> listRequests(pg::Connection& db, const RequestFilter& f) {
  return run(db,
             "SELECT edge_id, id, type, state, late, status_code, sender, sent_at, deadline,"
             " answered_at, answered_by, description, body, response_body FROM request_status"
             " WHERE ($1 = '' OR edge_id = $1) AND ($2 = '' OR state = $2)"
             " AND ($3 = '' OR type = $3)"
             " AND ($4::bigint IS NULL OR sent_at >= to_timestamp($4::bigint / 1000.0))"
             " ORDER BY sent_at DESC, edge_id, id LIMIT $5",
             {f.edge, f.status, f.type, optTimestamp(f.sinceMs), std::to_string(f.limit)});
}

Result<std::vector<Record>> showRequest(pg::Connection& db, const std::string& id,
                                        const std::string& edge) {
  auto found = run(db,
                   "SELECT * FROM request_status WHERE id = $1 AND ($2 = '' OR edge_id = $2)"
                   " ORDER BY sent_at DESC",
                   {id, edge});
  if (!found) {
    return found;
  }
  for (auto& r : *found) {
    const std::string state = fieldText(r, "state");
    if (state != "pending" && state != "timeout") {
      continue;
    }
    // An answer that came but failed the contract is in rejected_messages: say so.
    auto rejected = db.exec(
        "SELECT concat_ws(': ', NULLIF(field, ''), reason) FROM rejected_messages"
        " WHERE edge_id = $1 AND message_id = $2 AND kind = 'response'"
        " ORDER BY received_at DESC, kafka_offset DESC LIMIT 1",  // offsets: per cluster
        {fieldText(r, "edge_id"), fieldText(r, "id")});
    if (!rejected) {
      return rejected.error();
    }
    if (!rejected->empty()) {
      r.push_back(stringField("rejected_response", rejected->str(0, 0)));
    }
  }
  if (!found->empty()) {
    return found;
  }
  // A response whose request has not been seen (yet).
  return run(db,
             "SELECT s.edge_id, s.id, s.type, 'unmatched' AS state, s.status_code, s.status,"
             " s.sender AS answered_by, s.sent_at AS answer_sent_at, s.received_at AS answered_at,"
             " s.body AS response_body FROM responses s WHERE s.id = $1"
             " AND ($2 = '' OR s.edge_id = $2) AND NOT EXISTS (SELECT 1 FROM requests r"
             " WHERE r.edge_id = s.edge_id AND r.id = s.id)",
             {id, edge});
}

Result<std::vector<Record>> listSessions(pg::Connection& db, const Options& options, bool active,
                                         const std::string& edge, int limit) {
  auto records = run(db,
                     "SELECT session_id, edge_id, state, mode, services, opened_by, request_id,"
                     " requested_at, started_at, expires_at, ended_at, end_reason, end_detail,"
                     " auto_stop_s FROM sessions WHERE ($1 = 'false' OR ended_at IS NULL)"
                     " AND ($2 = '' OR edge_id = $2) ORDER BY session_id DESC LIMIT $3",
                     {active ? "true" : "false", edge, std::to_string(limit)});
  if (records) {
    addSessionHints(*records, options);
  }
  return records;
}

Result<std::vector<Record>> showSession(pg::Connection& db, const Options& options,
                                        int64_t sessionId) {
  auto records = run(db,
                     "SELECT session_id, edge_id, state, mode, services, opened_by, request_id,"
                     " requested_at, started_at, expires_at, ended_at, end_reason, end_detail,"
                     " auto_stop_s FROM sessions WHERE session_id = $1",
                     {std::to_string(sessionId)});
  if (records) {
    addSessionHints(*records, options);
  }
  return records;
}

Result<std::vector<Record>> listEdges(pg::Connection& db, const Options& options, EdgeFilter f,
                                      const std::string& edge, int limit,
                                      const std::string& label) {
  const char* filter = f == EdgeFilter::kOnline    ? "online"
                       : f == EdgeFilter::kOffline ? "NOT online"
                                                   : "true";
  return run(db,
             std::string("SELECT * FROM (SELECT e.edge_id,"
                         " (e.last_heartbeat_at IS NOT NULL"
                         "  AND e.last_heartbeat_at > now() - make_interval(secs => $1::float8)"
                         "  AND (e.stopped_at IS NULL OR e.stopped_at < e.last_heartbeat_at))"
                         " AS online, e.last_heartbeat_at, e.last_seen_at, e.first_seen_at,"
                         " e.agent_version, e.hostname, e.heartbeat_interval_s, e.uptime_s,"
                         " e.frp_running, e.agent_started_at, e.stopped_at, e.provisioned_at,"
                         " e.agent_metrics_at, e.agent_metrics, e.key_id, e.clock_offset_ms,"
                         " (SELECT s.session_id FROM sessions s WHERE s.edge_id = e.edge_id"
                         "  AND s.ended_at IS NULL) AS live_session"
                         " FROM edges e WHERE ($2 = '' OR e.edge_id = $2) AND ($4 = '' OR"
                         "  EXISTS (SELECT 1 FROM edge_labels l WHERE l.edge_id = e.edge_id"
                         "  AND l.label = $4))) x WHERE ") +
                 filter + " ORDER BY edge_id LIMIT $3",
             {std::to_string(options.offlineAfterSeconds), edge, std::to_string(limit), label});
}

namespace {

const char* const kEventColumns =
    "seq, edge_id, type, id, sender, sent_at, received_at,"
    " concat_ws(' ', body->>'stop_reason', body->>'reason',"
    "  CASE WHEN body ? 'agent_version' THEN 'agent ' || (body->>'agent_version') END,"
    "  CASE WHEN body ? 'services' THEN (SELECT string_agg(k || ' ' ||"
    "   COALESCE(v->>'remote_port', v::text), ', ') FROM jsonb_each(body->'services') AS x(k, v))"
    "  END) AS detail, description, body, xact";
const char* const kEventFilter =
    " FROM events WHERE ($1 = '' OR edge_id = $1) AND ($2 = '' OR type = $2)";

}  // namespace

Result<std::vector<Record>> listEvents(pg::Connection& db, const std::string& edge,
                                       const std::string& type, int limit) {
  return run(db,
             std::string("SELECT * FROM (SELECT ") + kEventColumns + kEventFilter +
                 " ORDER BY seq DESC LIMIT $3) x ORDER BY seq",
             {edge, type, std::to_string(limit)});
}

Result<int64_t> eventHorizon(pg::Connection& db) {
  auto rows = db.exec("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint");
  if (!rows) {
    return rows.error();
  }
  return rows->int64(0, 0);
}

Result<std::vector<Record>> eventsSince(pg::Connection& db, const std::string& edge,
                                        const std::string& type, int64_t fromXact, int64_t afterSeq,
                                        int limit) {
  return run(
      db,
      std::string("SELECT ") + kEventColumns + kEventFilter +
          " AND xact >= $3 AND seq > $4 ORDER BY seq LIMIT $5",
      {edge, type, std::to_string(fromXact), std::to_string(afterSeq), std::to_string(limit)});
}

Result<std::vector<Record>> listDispatchers(pg::Connection& db) {
  return run(db,
             "SELECT member, consumer_group, state, assigned_partitions, messages_stored,"
             " started_at, updated_at, last_batch_at FROM dispatchers ORDER BY member",
             {});
}

std::string describeServices(const std::string& servicesJson) {
  std::string out;
  for (const auto& [name, port] : parseServicesJson(servicesJson)) {
    out += (out.empty() ? "" : ", ") + name + " " + (port == 0 ? "stcp" : std::to_string(port));
  }
  return out;
}

std::string connectHints(const Options& options, const std::string& servicesJson) {
  // ssh first: it is what operators open a session for most.
  std::string first;
  std::string rest;
  for (const auto& [name, port] : parseServicesJson(servicesJson)) {
    std::string line = name + ": " + options.connectHint(name, port) + "\n";
    (name == "ssh" ? first : rest) += line;
  }
  std::string out = first + rest;
  if (!out.empty()) {
    out.pop_back();
  }
  return out;
}

}  // namespace edgelink::dispatcher
