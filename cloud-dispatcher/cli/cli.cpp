#include "cli/cli.h"

#include <rapidjson/document.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>

#include "cli/queries.h"
#include "cli/render.h"
#include "config/cli_config.h"
#include "core/clock.h"
#include "core/logging.h"
#include "core/strings.h"
#include "core/time_format.h"
#include "core/version.h"
#include "db/migrations.h"
#include "db/pg.h"
#include "domain/model.h"
#include "domain/sessions.h"
#include "envelope/frp_command.h"
#include "envelope/types.h"
#include "ingest/ingest.h"
#include "ingest/store.h"
#include "kafka/client.h"
#include "options.h"

namespace edgelink::dispatcher {
namespace {

std::atomic<bool> gStop{false};

extern "C" void onStopSignal(int /*sig*/) {
  gStop = true;
}

void installStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = &onStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

/// Everything the subcommands read from the command line beyond Options.
struct Args {
  bool json = false;
  bool verbose = false;
  std::string edge;
  std::string type;
  std::string body = "{}";
  std::string description;
  int64_t wait = 0;
  int64_t openWait = 60;
  int64_t closeWait = 30;
  std::vector<std::string> services;
  int64_t autoStop = 0;
  std::vector<std::string> edgeIds;
  std::string requestId;
  int64_t sessionId = 0;
  std::string status;
  std::string since;
  int limit = 50;
  bool active = false;
  bool online = false;
  bool offline = false;
  bool follow = false;
  bool evenIfOffline = false;
  bool force = false;
};

/// The outcome of publishing one request.
struct Published {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestampMs = 0;
};

std::string maskConninfo(const std::string& conninfo) {
  if (conninfo.empty()) {
    return "(libpq defaults: PGHOST, PGPORT, PGUSER, PGDATABASE, ...)";
  }
  std::string out;
  std::istringstream in(conninfo);
  for (std::string word; in >> word;) {
    auto kv = splitKeyValue(word);
    out += (out.empty() ? "" : " ") + (kv && kv->first == "password" ? kv->first + "=*****" : word);
  }
  // URIs: postgresql://user:secret@host/db
  auto scheme = out.find("://");
  auto at = out.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
    auto colon = out.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) {
      out = out.substr(0, colon + 1) + "*****" + out.substr(at);
    }
  }
  return out;
}

class Cli {
 public:
  Cli(Options& options, Args& args) : o_(options), a_(args) {}

  int run();
  int verify();
  int migrateDb();
  int dbStatus();
  int send();
  int sessionOpen();
  int sessionClose();
  int sessionsList();
  int sessionsShow();
  int edgesAdd();
  int edgesList();
  int requestsShow();
  int requestsList();
  int eventsTail();

 private:
  int fail(int code, const std::string& message) const {
    std::fprintf(stderr, "cloud-dispatcher: %s\n", message.c_str());
    return code;
  }
  void out(const std::string& text) const {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
  }
  /// Connects (and checks the schema unless `anySchema`); prints the problem and sets `code`.
  std::unique_ptr<pg::Connection> database(int& code, bool anySchema = false);
  Result<Published> publish(const std::string& edge, const std::string& bytes);
  VoidResult record(pg::Connection& db, const Published& p, const std::string& edge,
                    const std::string& bytes);
  /// LISTEN (when waiting), publish `bytes` (request `id`) to `edge`, record it, wait up to
  /// `waitSeconds` for the answer. Returns kExitOk (answered, or not waiting), kExitTimeout, or
  /// the exit code of a failure it printed (`onUnpublished` runs first when nothing went out).
  int exchange(pg::Connection& db, const std::string& edge, const std::string& id,
               const std::string& bytes, int64_t waitSeconds, Published& published,
               const std::function<std::string(const Error&)>& onUnpublished = {});
  /// Waits for the response to (edge, id) through LISTEN/NOTIFY. true: answered.
  Result<bool> waitForAnswer(pg::Connection& db, const std::string& edge, const std::string& id,
                             int64_t seconds);
  Result<envelope::Envelope> buildRequest(const std::string& id, const std::string& type,
                                          const std::string& description);
  int showRecords(const Result<std::vector<Record>>& records, const std::vector<Column>& columns,
                  bool detail = false);
  /// Why a session cannot be opened on `edge` now (unknown; offline unless --even-if-offline),
  /// or "" when it can. Database errors are reported as such.
  std::string checkEdgeReachable(pg::Connection& db, const std::string& edge);

  Options& o_;
  Args& a_;
  const Clock& clock_ = SystemClock::instance();
};

std::unique_ptr<pg::Connection> Cli::database(int& code, bool anySchema) {
  auto db = pg::Connection::open(o_.pgConninfo, "cloud-dispatcher-cli");
  if (!db) {
    code = fail(kExitDatabase, db.error().describe());
    return nullptr;
  }
  if (!anySchema) {
    if (auto r = checkSchema(**db); !r) {
      code = fail(kExitDatabase, r.error().describe());
      return nullptr;
    }
  }
  return std::move(*db);
}

Result<Published> Cli::publish(const std::string& edge, const std::string& bytes) {
  Published p;
  p.topic = o_.topicFor(edge);
  std::optional<kafka::DeliveryReport> report;
  auto producer = kafka::Producer::create(
      o_.producerConfig(), [&report](const kafka::DeliveryReport& r) { report = r; });
  if (!producer) {
    return producer.error();
  }
  p.timestampMs = clock_.wallMs();
  if (auto r = (*producer)->produce(p.topic, edge, bytes, 1); !r) {
    return r.error();
  }
  auto flushed = (*producer)->flush(static_cast<int>(o_.kafkaTimeoutSeconds * 1000) + 1000);
  if (!report) {
    return Error(Status::kUnavailable, "the request to " + p.topic + " was not delivered within " +
                                           std::to_string(o_.kafkaTimeoutSeconds) +
                                           " s: is Kafka at " + o_.kafkaBrokers + " reachable?" +
                                           (flushed ? "" : " (" + flushed.error().message + ")"));
  }
  if (report->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Error e = kafka::toError(report->err, "delivering the request to " + p.topic);
    e.message += " (Kafka at " + o_.kafkaBrokers + ")";
    return e;
  }
  p.partition = report->partition;
  p.offset = report->offset;
  return p;
}

VoidResult Cli::record(pg::Connection& db, const Published& p, const std::string& edge,
                       const std::string& bytes) {
  // The same path the daemon takes for what it consumes: identical rows, whoever is first.
  envelope::Decoder decoder(envelope::Limits{o_.maxMessageBytes, 32});
  Batch batch(o_);
  RawMessage m;
  m.topic = p.topic;
  m.partition = p.partition;
  m.offset = p.offset;
  m.key = edge;
  m.payload = bytes;
  m.kafkaTimestampMs = p.timestampMs;
  batch.add(m, decoder, clock_.wallMs());
  Store store(o_);
  if (auto r = store.prepare(db); !r) {
    return r;
  }
  auto w = store.write(db, batch);
  if (!w) {
    return w.error();
  }
  return {};
}

Result<bool> Cli::waitForAnswer(pg::Connection& db, const std::string& edge, const std::string& id,
                                int64_t seconds) {
  auto answered = [&]() -> Result<bool> {
    auto rows = db.exec("SELECT 1 FROM responses WHERE edge_id = $1 AND id = $2", {edge, id});
    if (!rows) {
      return rows.error();
    }
    return !rows->empty();
  };
  // LISTEN came before the request was published, so no answer can slip between the check and
  // the wait.
  auto first = answered();
  if (!first || *first) {
    return first;
  }
  const int64_t deadline = clock_.monoMs() + seconds * 1000;
  while (!gStop) {
    const int64_t left = deadline - clock_.monoMs();
    if (left <= 0) {
      break;
    }
    auto n = db.waitNotification(static_cast<int>(std::min<int64_t>(left, 1000)));
    if (!n) {
      return n.error();
    }
    if (!*n) {
      continue;
    }
    rapidjson::Document doc;
    doc.Parse((*n)->payload.c_str());
    if (doc.IsObject() && doc.HasMember("edge_id") && doc["edge_id"].IsString() &&
        doc.HasMember("id") && doc["id"].IsString()) {
      if (edge == doc["edge_id"].GetString() && id == doc["id"].GetString()) {
        // The sweeper declared it 'timeout': past its expiry, no answer will come.
        const bool timedOut = doc.HasMember("state") && doc["state"].IsString() &&
                              std::string(doc["state"].GetString()) == "timeout";
        if (!timedOut) {
          return true;
        }
        return answered();
      }
      continue;  // someone else's answer
    }
    // A large batch is announced as a whole: look whether ours is in it.
    auto found = answered();
    if (!found || *found) {
      return found;
    }
  }
  return answered();
}

int Cli::exchange(pg::Connection& db, const std::string& edge, const std::string& id,
                  const std::string& bytes, int64_t waitSeconds, Published& published,
                  const std::function<std::string(const Error&)>& onUnpublished) {
  auto unpublished = [&](int code, const Error& e) {
    return fail(code, e.describe() + (onUnpublished ? onUnpublished(e) : std::string()));
  };
  if (waitSeconds > 0) {
    // Before publishing, so no answer can slip by.
    if (auto r = db.listen(kResponseChannel); !r) {
      return unpublished(kExitDatabase, r.error());
    }
  }
  auto p = publish(edge, bytes);
  if (!p) {
    return unpublished(kExitKafka, p.error());
  }
  published = *p;
  if (auto r = record(db, published, edge, bytes); !r) {
    return fail(kExitDatabase, "published, but recording it failed: " + r.error().describe());
  }
  if (waitSeconds <= 0) {
    return kExitOk;
  }
  auto answered = waitForAnswer(db, edge, id, waitSeconds);
  if (!answered) {
    return fail(kExitDatabase, answered.error().describe());
  }
  return *answered ? kExitOk : kExitTimeout;
}

Result<envelope::Envelope> Cli::buildRequest(const std::string& id, const std::string& type,
                                             const std::string& description) {
  const int64_t now = clock_.wallMs();
  auto request =
      envelope::Envelope::request(envelope::Id::text(id), o_.sender, now, type, description);
  // The request says itself until when it may be acted on: an edge that gets it later answers
  // 408 and does nothing, so this dispatcher's 'timeout' means "never acted on".
  request.expiresAtMs = now + o_.deadlineFor(type) * 1000;
  return Result<envelope::Envelope>(std::move(request));
}

int Cli::showRecords(const Result<std::vector<Record>>& records, const std::vector<Column>& columns,
                     bool detail) {
  if (!records) {
    return fail(exitCodeForDbError(records.error()), records.error().describe());
  }
  if (a_.json) {
    out(detail && records->size() == 1 ? renderJsonObject(records->front())
                                       : renderJsonArray(*records));
  } else if (detail) {
    for (size_t i = 0; i < records->size(); ++i) {
      out((i > 0 ? "\n" : "") + renderDetail((*records)[i]));
    }
  } else {
    out(renderTable(*records, columns));
  }
  return kExitOk;
}

std::string Cli::checkEdgeReachable(pg::Connection& db, const std::string& edge) {
  auto rows = db.exec(
      "SELECT (last_heartbeat_at IS NOT NULL"
      "  AND last_heartbeat_at > now() - make_interval(secs => $2::float8)"
      "  AND (stopped_at IS NULL OR stopped_at < last_heartbeat_at)),"
      " (extract(epoch FROM last_heartbeat_at) * 1000)::bigint,"
      " (extract(epoch FROM stopped_at) * 1000)::bigint,"
      " (extract(epoch FROM now() - last_heartbeat_at))::bigint"
      " FROM edges WHERE edge_id = $1",
      {edge, std::to_string(o_.offlineAfterSeconds)});
  if (!rows) {
    return "checking edge " + edge + ": " + rows.error().describe();
  }
  if (rows->empty()) {
    return "edge " + edge + " is not known: `edges add` it first";
  }
  if (rows->boolean(0, 0) || a_.evenIfOffline) {
    return {};
  }
  std::string why;
  if (rows->isNull(0, 1)) {
    why = "it has never sent a heartbeat";
  } else {
    why = "last seen (heartbeat) at " + shortTimestamp(formatRfc3339Ms(rows->int64(0, 1))) +
          " UTC, " + config::durationText(rows->int64(0, 3)) + " ago";
    if (!rows->isNull(0, 2) && rows->int64(0, 2) >= rows->int64(0, 1)) {
      why += "; its agent said it was stopping at " +
             shortTimestamp(formatRfc3339Ms(rows->int64(0, 2))) + " UTC";
    } else {
      why += " (offline after " + config::durationText(o_.offlineAfterSeconds) + " without one)";
    }
  }
  return "edge " + edge + " is offline: " + why +
         ". No ports were taken. --even-if-offline opens the session anyway (the start request "
         "then waits in the edge's topic until it expires, holding its ports)";
}

// ---- daemon --------------------------------------------------------------------------------

int Cli::run() {
  installStopHandlers();
  auto logger = log::get("dispatcher");
  logger->info("cloud-dispatcher {} starting: Kafka {} ({}), PostgreSQL {}", kVersion,
               o_.kafkaBrokers, o_.consumerConfig().describe(), maskConninfo(o_.pgConninfo));
  Ingestor ingestor(o_, clock_);
  if (auto r = ingestor.start(); !r) {
    const Error& e = r.error();
    if (e.status == Status::kConflict || e.status == Status::kUnavailable || !e.field.empty()) {
      return fail(kExitDatabase, e.describe());
    }
    return fail(kExitKafka, e.describe());
  }
  ingestor.run(gStop);
  logger->info("stopped");
  return kExitOk;
}

int Cli::verify() {
  // validate() already ran (main refuses an invalid configuration with exit code 2).
  Record r;
  r.push_back(stringField("kafka_brokers", o_.kafkaBrokers));
  r.push_back(stringField("kafka", o_.consumerConfig().describe()));
  r.push_back(stringField("topic_regex", o_.effectiveTopicRegex()));
  r.push_back(stringField("consumer_group", o_.consumerGroup));
  r.push_back(stringField("postgresql", maskConninfo(o_.pgConninfo)));
  r.push_back(
      stringField("port_pool", std::to_string(o_.pool.first) + "-" + std::to_string(o_.pool.last)));
  r.push_back(stringField("frps_host", o_.frpsHost));
  r.push_back(numberField("request_deadline_seconds", o_.requestDeadlineSeconds));
  r.push_back(numberField("offline_after_seconds", o_.offlineAfterSeconds));
  if (a_.json) {
    out(renderJsonObject(r));
  } else {
    out("configuration OK\n" + renderDetail(r));
  }
  return kExitOk;
}

int Cli::migrateDb() {
  int code = 0;
  auto db = database(code, true);
  if (!db) {
    return code;
  }
  auto m = migrate(*db);
  if (!m) {
    return fail(kExitDatabase, m.error().describe());
  }
  if (a_.json) {
    Record r{numberField("from", m->from), numberField("to", m->to)};
    std::string applied = "[";
    for (size_t i = 0; i < m->applied.size(); ++i) {
      applied += (i ? ",\"" : "\"") + m->applied[i] + "\"";
    }
    r.push_back(Field{"applied", FieldKind::kJson, applied + "]"});
    out(renderJsonObject(r));
  } else if (m->applied.empty()) {
    out("database schema already at version " + std::to_string(m->to) + "\n");
  } else {
    for (const auto& a : m->applied) {
      out("applied migration " + a + "\n");
    }
    out("database schema now at version " + std::to_string(m->to) + "\n");
  }
  return kExitOk;
}

int Cli::dbStatus() {
  int code = 0;
  auto db = database(code, true);
  if (!db) {
    return code;
  }
  auto v = schemaVersion(*db);
  if (!v) {
    return fail(kExitDatabase, v.error().describe());
  }
  std::vector<Record> dispatchers;
  if (*v >= 3) {
    auto d = listDispatchers(*db);
    if (!d) {
      return fail(kExitDatabase, d.error().describe());
    }
    dispatchers = std::move(*d);
  }
  if (a_.json) {
    std::string list = renderJsonArray(dispatchers);
    list.pop_back();  // newline
    out(renderJsonObject({numberField("schema_version", *v),
                          numberField("binary_schema_version", latestSchemaVersion()),
                          Field{"dispatchers", FieldKind::kJson, list}}));
  } else {
    out("schema version " + std::to_string(*v) +
        " (this binary: " + std::to_string(latestSchemaVersion()) + ")\n");
    if (*v >= 3) {
      out(renderTable(dispatchers, {{"member", "MEMBER"},
                                    {"consumer_group", "GROUP"},
                                    {"state", "STATE"},
                                    {"assigned_partitions", "PARTITIONS"},
                                    {"messages_stored", "STORED"},
                                    {"updated_at", "UPDATED"}}));
    }
  }
  return *v == latestSchemaVersion() ? kExitOk : kExitDatabase;
}

// ---- requests -------------------------------------------------------------------------------

int Cli::send() {
  if (!isValidEdgeId(a_.edge)) {
    return fail(kExitUsage, "--edge: expected 1-200 characters from A-Z a-z 0-9 . _ -");
  }
  std::string bodyText = a_.body;
  if (!bodyText.empty() && bodyText[0] == '@') {
    std::ifstream in(bodyText.substr(1));
    if (!in) {
      return fail(kExitUsage, "--body: cannot read " + bodyText.substr(1));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    bodyText = ss.str();
  }
  rapidjson::Document body;
  body.Parse(bodyText.c_str(), bodyText.size());
  if (body.HasParseError() || !body.IsObject()) {
    return fail(kExitUsage, "--body: expected a JSON object (or @file holding one)");
  }
  const std::string id = envelope::Id::generate().str();
  auto req = buildRequest(id, a_.type, a_.description);
  req->body().CopyFrom(body, req->allocator());
  const std::string bytes = envelope::encode(*req);
  envelope::Decoder decoder(envelope::Limits{o_.maxMessageBytes, 32});
  if (auto check = decoder.decode(bytes); !check) {
    return fail(kExitUsage, "the request would not be valid: " + check.error().describe());
  }
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  Published published;
  int result = exchange(*db, a_.edge, id, bytes, a_.wait, published);
  if (result != kExitOk && result != kExitTimeout) {
    return result;
  }
  auto shown = showRequest(*db, id, a_.edge);
  if (!shown || shown->empty()) {
    return fail(kExitDatabase, "the request was published but cannot be read back");
  }
  const Record& r = shown->front();
  if (result != kExitTimeout && a_.wait > 0) {
    result = exitCodeForAnswer(static_cast<int>(std::stol("0" + fieldText(r, "status_code"))));
  }
  if (a_.json) {
    out(renderJsonObject(r));
  } else if (a_.wait <= 0) {
    out("request " + id + " (" + a_.type + ") published to " + published.topic + " [partition " +
        std::to_string(published.partition) + ", offset " + std::to_string(published.offset) +
        "]\n");
  } else if (result == kExitTimeout && fieldText(r, "state") == "timeout") {
    out("request " + id + " (" + a_.type + ") to edge " + a_.edge +
        ": timeout, no answer by its deadline " + shortTimestamp(fieldText(r, "deadline")) +
        " UTC; it expired at " + shortTimestamp(fieldText(r, "expires_at")) +
        " UTC, so the edge will not act on it (see `requests show " + id + "`)\n");
  } else if (result == kExitTimeout) {
    out("request " + id + " (" + a_.type + ") to edge " + a_.edge + ": no answer within " +
        std::to_string(a_.wait) + " s (see `requests show " + id + "`)\n");
  } else {
    out("request " + id + " (" + a_.type + ") to edge " + a_.edge + ": " + fieldText(r, "state") +
        " " + fieldText(r, "status_code") + " " + fieldText(r, "status") + "\n" +
        fieldText(r, "response_body") + "\n");
  }
  return result;
}

int Cli::requestsShow() {
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  auto records = showRequest(*db, a_.requestId, a_.edge);
  if (records && records->empty()) {
    return fail(kExitNotFound, "no request or response with id " + a_.requestId +
                                   (a_.edge.empty() ? "" : " on edge " + a_.edge));
  }
  return showRecords(records, {}, true);
}

int Cli::requestsList() {
  RequestFilter f;
  f.edge = a_.edge;
  f.status = a_.status;
  f.type = a_.type;
  f.limit = a_.limit;
  if (!f.status.empty() && !isRequestState(f.status)) {
    return fail(
        kExitUsage,
        "--status: expected pending, succeeded, failed, stale or timeout, got '" + f.status + "'");
  }
  if (!a_.since.empty()) {
    if (auto seconds = parseDurationSeconds(a_.since)) {
      f.sinceMs = clock_.wallMs() - *seconds * 1000;
    } else if (auto ms = parseRfc3339Ms(a_.since)) {
      f.sinceMs = *ms;
    } else {
      return fail(kExitUsage, "--since: expected a duration (15m, 2h) or an RFC 3339 time, got '" +
                                  a_.since + "'");
    }
  }
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  return showRecords(listRequests(*db, f), {{"edge_id", "EDGE"},
                                            {"id", "ID", 36},
                                            {"type", "TYPE"},
                                            {"state", "STATE"},
                                            {"late", "LATE"},
                                            {"status_code", "CODE"},
                                            {"sender", "SENDER", 20},
                                            {"sent_at", "SENT"},
                                            {"answered_at", "ANSWERED"}});
}

// ---- sessions -------------------------------------------------------------------------------

int Cli::sessionOpen() {
  if (!isValidEdgeId(a_.edge)) {
    return fail(kExitUsage, "--edge: expected 1-200 characters from A-Z a-z 0-9 . _ -");
  }
  std::vector<std::string> services = a_.services.empty() ? o_.defaultServices : a_.services;
  for (const auto& s : services) {
    bool legacy = false;
    for (const auto& f : envelope::legacy::kPortFields) {
      legacy = legacy || s == f.service;
    }
    if (!legacy) {
      return fail(kExitUsage, "--services: '" + s +
                                  "' cannot be expressed in the original start request format "
                                  "(ssh, fcc_web, camera_admin)");
    }
  }
  std::sort(services.begin(), services.end());
  if (std::adjacent_find(services.begin(), services.end()) != services.end()) {
    return fail(kExitUsage, "--services: a service is named twice");
  }
  if (a_.autoStop > envelope::kMaxAutoStopSeconds) {
    return fail(kExitUsage, "--auto-stop: at most 365d (" +
                                std::to_string(envelope::kMaxAutoStopSeconds) + " s), got " +
                                std::to_string(a_.autoStop) + " s");
  }
  const int64_t autoStop = a_.autoStop > 0 ? a_.autoStop : o_.autoStopSeconds;
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  // Before a port is taken or anything published: a start for an unknown edge has no topic to
  // go to, and one for an offline edge would hold its ports until it expires unanswered.
  if (auto refused = checkEdgeReachable(*db, a_.edge); !refused.empty()) {
    return fail(kExitFailed, refused);
  }
  const std::string id = envelope::Id::generate().str();
  Sessions sessions(*db, o_);
  auto opened = sessions.open(a_.edge, id, o_.sender, services, autoStop, clock_.wallMs());
  if (!opened) {
    return fail(opened.error().status == Status::kConflict ? kExitFailed : kExitDatabase,
                opened.error().describe());
  }
  auto req =
      buildRequest(id, envelope::request_type::kChangeFrpClientConfig, "setup and start frp");
  envelope::FrpCommand cmd;
  cmd.action = envelope::FrpAction::kStart;
  for (const auto& [name, port] : opened->services) {
    cmd.services[name] = static_cast<uint16_t>(port);
  }
  cmd.autoStopSeconds = autoStop;
  if (auto w = envelope::writeLegacyFrpBody(*req, cmd); !w) {
    (void)sessions.end(opened->sessionId, "failed", "publish_failed", w.error().describe());
    return fail(kExitUsage, w.error().describe());
  }
  const std::string bytes = envelope::encode(*req);
  Published published;
  int result = exchange(*db, a_.edge, id, bytes, a_.openWait, published, [&](const Error& e) {
    (void)sessions.end(opened->sessionId, "failed", "publish_failed", e.describe());
    return "; session " + std::to_string(opened->sessionId) + " released its ports";
  });
  if (result != kExitOk && result != kExitTimeout) {
    return result;
  }
  auto request = showRequest(*db, id, a_.edge);
  auto session = showSession(*db, o_, opened->sessionId);
  if (!request || request->empty() || !session || session->empty()) {
    return fail(kExitDatabase, "the session was requested but cannot be read back");
  }
  const Record& rq = request->front();
  Record s = session->front();
  if (result == kExitOk && a_.openWait > 0) {
    result = exitCodeForAnswer(static_cast<int>(std::stol("0" + fieldText(rq, "status_code"))));
  }
  s.push_back(stringField("request_state", fieldText(rq, "state")));
  if (const Field* f = findField(rq, "status_code"); f && f->kind != FieldKind::kNull) {
    s.push_back(*f);
  }
  if (const Field* f = findField(rq, "response_body"); f && f->kind != FieldKind::kNull) {
    s.push_back(*f);
  }
  if (a_.json) {
    out(renderJsonObject(s));
    return result;
  }
  const std::string sid = fieldText(s, "session_id");
  const std::string ports = fieldText(s, "ports");
  if (a_.openWait <= 0) {
    out("session " + sid + " on edge " + a_.edge + " requested (" + ports +
        "); the edge has not answered yet\n" + connectHints(o_, fieldText(s, "services")) + "\n");
  } else if (result == kExitTimeout && fieldText(rq, "state") == "timeout") {
    out("session " + sid + " on edge " + a_.edge + " (" + ports +
        "): timeout, no answer by the start request's deadline; it expired at " +
        shortTimestamp(fieldText(rq, "expires_at")) +
        " UTC, so the edge will not act on it: the session ends and its ports are free again\n");
  } else if (result == kExitTimeout) {
    out("session " + sid + " on edge " + a_.edge + " (" + ports + "): no answer within " +
        std::to_string(a_.openWait) + " s; it stays 'opening' until the edge answers or the " +
        "start request times out at " + shortTimestamp(fieldText(rq, "deadline")) +
        " UTC (see `sessions list --edge " + a_.edge + "`)\n");
  } else if (result == kExitOk) {
    out("session " + sid + " on edge " + a_.edge + " is open until " +
        shortTimestamp(fieldText(s, "expires_at")) + " UTC\n" +
        connectHints(o_, fieldText(s, "services")) + "\n");
  } else {
    out("edge " + a_.edge + " could not open the session: " + fieldText(rq, "status_code") + " " +
        fieldText(rq, "response_body") + "\nsession " + sid + " " + fieldText(s, "state") + " (" +
        fieldText(s, "end_reason") + "), its ports are free again\n");
  }
  return result;
}

int Cli::sessionClose() {
  if (!isValidEdgeId(a_.edge)) {
    return fail(kExitUsage, "--edge: expected 1-200 characters from A-Z a-z 0-9 . _ -");
  }
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  Sessions sessions(*db, o_);
  auto live = sessions.live(a_.edge);
  if (!live) {
    return fail(kExitDatabase, live.error().describe());
  }
  if (!*live && !a_.force) {
    return fail(kExitFailed, "edge " + a_.edge +
                                 " has no live session: nothing to close (no stop request "
                                 "published; --force sends one anyway)");
  }
  const std::string id = envelope::Id::generate().str();
  auto req = buildRequest(id, envelope::request_type::kChangeFrpClientConfig, "stop frp");
  envelope::FrpCommand cmd;
  cmd.action = envelope::FrpAction::kStop;
  (void)envelope::writeLegacyFrpBody(*req, cmd);
  const std::string bytes = envelope::encode(*req);
  Published published;
  int result = exchange(*db, a_.edge, id, bytes, a_.closeWait, published);
  if (result != kExitOk && result != kExitTimeout) {
    return result;
  }
  auto request = showRequest(*db, id, a_.edge);
  if (!request || request->empty()) {
    return fail(kExitDatabase, "the stop request was published but cannot be read back");
  }
  Record r = request->front();
  if (result == kExitOk && a_.closeWait > 0) {
    result = exitCodeForAnswer(static_cast<int>(std::stol("0" + fieldText(r, "status_code"))));
  }
  const std::string sid = *live ? std::to_string((*live)->sessionId) : std::string();
  r.push_back(sid.empty() ? nullField("session_id")
                          : numberField("session_id", (*live)->sessionId));
  if (a_.json) {
    out(renderJsonObject(r));
    return result;
  }
  const std::string what = sid.empty() ? "edge " + a_.edge + " (no live session was recorded)"
                                       : "session " + sid + " on edge " + a_.edge;
  if (a_.closeWait <= 0) {
    out("stop request " + id + " published for " + what + "\n");
  } else if (result == kExitTimeout) {
    out("stop request " + id + " for " + what + ": no answer within " +
        std::to_string(a_.closeWait) + " s\n");
  } else if (result == kExitOk) {
    out(what + ": frp stopped" + (sid.empty() ? " (the edge answered the stop 200)" : "") + "\n");
  } else {
    out(what + ": the edge answered " + fieldText(r, "status_code") + " " +
        fieldText(r, "response_body") + "\n");
  }
  return result;
}

int Cli::sessionsList() {
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  return showRecords(listSessions(*db, o_, a_.active, a_.edge, a_.limit),
                     {{"session_id", "ID"},
                      {"edge_id", "EDGE"},
                      {"state", "STATE"},
                      {"ports", "PORTS"},
                      {"opened_by", "OPENED BY", 20},
                      {"requested_at", "REQUESTED"},
                      {"expires_at", "EXPIRES"},
                      {"ended_at", "ENDED"},
                      {"end_reason", "REASON"}});
}

int Cli::sessionsShow() {
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  auto records = showSession(*db, o_, a_.sessionId);
  if (records && records->empty()) {
    return fail(kExitNotFound, "no session " + std::to_string(a_.sessionId));
  }
  return showRecords(records, {}, true);
}

// ---- edges ----------------------------------------------------------------------------------

int Cli::edgesAdd() {
  for (const auto& id : a_.edgeIds) {
    if (!isValidEdgeId(id)) {
      return fail(kExitUsage,
                  "edge id '" + id + "': expected 1-200 characters from A-Z a-z 0-9 . _ -");
    }
  }
  std::vector<Record> done;
  for (const auto& id : a_.edgeIds) {
    const std::string topic = o_.topicFor(id);
    const int timeoutMs = static_cast<int>(o_.kafkaTimeoutSeconds * 1000);
    auto created = kafka::createTopic(o_.producerConfig(), topic, o_.topicPartitions,
                                      o_.topicReplication, o_.topicConfigMap(), timeoutMs);
    std::string outcome = "created";
    if (!created) {
      const Error& e = created.error();
      if (e.status == Status::kConflict) {
        outcome = "exists";
      } else if (e.status == Status::kTimeout) {
        return fail(kExitKafka,
                    "creating topic " + topic + ": the broker at " + o_.kafkaBrokers +
                        " did not answer the admin request CreateTopics within " +
                        std::to_string(o_.kafkaTimeoutSeconds) +
                        " s. It may not support the Kafka admin API (the dev broker, librdkafka's "
                        "mock cluster, does not: it creates topics on first produce) or it is "
                        "unreachable. Create the topic with your Kafka tooling: 1 partition, "
                        "replication " +
                        std::to_string(o_.topicReplication) + ", retention.ms " +
                        std::to_string(o_.topicRetentionSeconds * 1000) + ".");
      } else {
        return fail(kExitKafka, "creating topic " + topic + ": " + e.describe());
      }
    }
    Record r{stringField("edge_id", id),
             stringField("topic", topic),
             stringField("topic_state", outcome),
             numberField("partitions", o_.topicPartitions),
             numberField("replication", o_.topicReplication),
             numberField("retention_seconds", o_.topicRetentionSeconds)};
    done.push_back(std::move(r));
  }
  int code = 0;
  auto db = database(code);
  if (!db) {
    return fail(code, "the topics exist, but the edges could not be recorded");
  }
  for (const auto& r : done) {
    auto up = db->exec(
        "INSERT INTO edges (edge_id, first_seen_at, provisioned_at) VALUES ($1, now(), now())"
        " ON CONFLICT (edge_id) DO UPDATE SET provisioned_at ="
        " COALESCE(edges.provisioned_at, now())",
        {fieldText(r, "edge_id")});
    if (!up) {
      return fail(kExitDatabase, up.error().describe());
    }
  }
  return showRecords(done, {{"edge_id", "EDGE"},
                            {"topic", "TOPIC"},
                            {"topic_state", "TOPIC STATE"},
                            {"partitions", "PARTITIONS"},
                            {"replication", "REPLICATION"},
                            {"retention_seconds", "RETENTION S"}});
}

int Cli::edgesList() {
  if (a_.online && a_.offline) {
    return fail(kExitUsage, "--online and --offline exclude each other");
  }
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  EdgeFilter f = a_.online    ? EdgeFilter::kOnline
                 : a_.offline ? EdgeFilter::kOffline
                              : EdgeFilter::kAll;
  return showRecords(listEdges(*db, o_, f, a_.edge, a_.limit), {{"edge_id", "EDGE"},
                                                                {"online", "ONLINE"},
                                                                {"last_heartbeat_at", "HEARTBEAT"},
                                                                {"last_seen_at", "LAST SEEN"},
                                                                {"agent_version", "VERSION"},
                                                                {"live_session", "SESSION"}});
}

// ---- events ---------------------------------------------------------------------------------

int Cli::eventsTail() {
  int code = 0;
  auto db = database(code);
  if (!db) {
    return code;
  }
  if (a_.follow) {
    installStopHandlers();
    if (auto r = db->listen(kEventChannel); !r) {
      return fail(kExitDatabase, r.error().describe());
    }
  }
  const std::vector<Column> columns = {{"seq", "SEQ"},
                                       {"edge_id", "EDGE"},
                                       {"type", "TYPE"},
                                       {"sent_at", "SENT"},
                                       {"detail", "DETAIL", 60}};
  auto first = listEvents(*db, a_.edge, a_.type, 0, a_.limit);
  if (!first) {
    return fail(kExitDatabase, first.error().describe());
  }
  int64_t last = 0;
  auto emit = [&](const std::vector<Record>& records, bool header) {
    for (const auto& r : records) {
      last = std::max<int64_t>(last, std::stoll("0" + fieldText(r, "seq")));
    }
    if (a_.json) {
      if (a_.follow) {
        for (const auto& r : records) {
          out(renderJsonObject(r));  // JSON Lines while following
        }
      } else {
        out(renderJsonArray(records));
      }
    } else if (!records.empty() || header) {
      std::string table = renderTable(records, columns);
      if (!header) {
        table = table.substr(table.find('\n') + 1);  // the header was printed already
      }
      out(table);
    }
  };
  emit(*first, true);
  while (a_.follow && !gStop) {
    auto n = db->waitNotification(1000);
    if (!n) {
      return fail(kExitDatabase, n.error().describe());
    }
    while (!gStop) {
      auto more = listEvents(*db, a_.edge, a_.type, last, 1000);
      if (!more) {
        return fail(kExitDatabase, more.error().describe());
      }
      emit(*more, false);
      if (more->size() < 1000) {
        break;
      }
    }
  }
  return kExitOk;
}

}  // namespace

int cliMain(int argc, const char* const* argv) {
  Options options;
  Args args;
  CLI::App app{
      "cloud-dispatcher: the EdgeLink cloud dispatcher (daemon and operators' CLI).\n"
      "Every option below is also a key of the --config file (kafka-brokers = \"...\" for "
      "--kafka-brokers); flags win. Durations: 600, 90s, 15m, 2h, 1d."};
  app.fallthrough();
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);
  config::addConfigFile(app, "CLOUD_DISPATCHER_CONFIG");
  options.addTo(app);
  app.add_flag("--json", args.json, "Print JSON instead of tables (for scripts)");
  app.add_flag("-v,--verbose", args.verbose, "CLI commands: log at --log-level instead of warn");
  app.footer(
      "Exit codes: 0 ok, 1 the edge answered non-2xx or the command was refused, 2 usage or "
      "configuration error, 3 no answer within --wait, 4 Kafka, 5 PostgreSQL, 6 not found.\n"
      "Example: cloud-dispatcher --config /etc/edgelink/cloud-dispatcher.conf session open "
      "--edge elevator-0042 --auto-stop 1h");
  // A subcommand's --help shows only its own flags: its footer names the global ones and shows
  // an example.
  auto command = [](CLI::App* sub, const std::string& example) {
    sub->footer(
        "Global flags (before or after the command): --config FILE (or the environment "
        "variable CLOUD_DISPATCHER_CONFIG), --json, -v/--verbose, and every configuration key "
        "as a flag (--kafka-brokers, --pg-conninfo, --port-pool, ...: see `cloud-dispatcher "
        "--help`).\nExample: " +
        example);
    return sub;
  };

  auto* run =
      command(app.add_subcommand("run", "Run the daemon: consume every edge topic into PostgreSQL"),
              "cloud-dispatcher --config /etc/edgelink/cloud-dispatcher.conf run");
  auto* verify = command(app.add_subcommand("verify", "Check the configuration and print it"),
                         "CLOUD_DISPATCHER_CONFIG=/etc/edgelink/cloud-dispatcher.conf "
                         "cloud-dispatcher verify");
  auto* db = command(app.add_subcommand("db", "Database schema"), "cloud-dispatcher db migrate");
  db->require_subcommand(1);
  auto* migrate =
      command(db->add_subcommand("migrate", "Create or upgrade the schema (idempotent)"),
              "cloud-dispatcher db migrate");
  auto* dbStatus = command(db->add_subcommand("status", "Schema version and running dispatchers"),
                           "cloud-dispatcher db status --json");

  auto* send = command(app.add_subcommand("send", "Publish a request to an edge, optionally wait"),
                       "cloud-dispatcher send --edge elevator-0042 --type system_info --wait 10s");
  send->add_option("--edge", args.edge, "Edge id")->required();
  send->add_option("--type", args.type, "Request type (ping, system_info, frp_status, ...)")
      ->required();
  send->add_option("--body", args.body, "Request body: JSON object or @file")
      ->capture_default_str();
  send->add_option("--description", args.description, "Free text carried in the request");
  config::durationDefault(
      send->add_option("--wait", args.wait, "How long to wait for the answer (0: do not wait)")
          ->transform(config::durationSeconds()),
      args.wait);

  auto* session = command(app.add_subcommand("session", "Open or close an frp session on an edge"),
                          "cloud-dispatcher session open --edge elevator-0042");
  session->require_subcommand(1);
  auto* open = command(
      session->add_subcommand("open", "Reserve pool ports, start frp, print how to connect"),
      "cloud-dispatcher session open --edge elevator-0042 --services ssh --auto-stop 1h");
  open->add_option("--edge", args.edge, "Edge id (known and online: see --even-if-offline)")
      ->required();
  open->add_option("--services", args.services, "Services to expose (default: --default-services)")
      ->delimiter(',');
  open->add_option("--auto-stop", args.autoStop,
                   "Session length, at most 365d (default: the --auto-stop option)")
      ->transform(config::durationSeconds());
  config::durationDefault(
      open->add_option("--wait", args.openWait, "How long to wait for the edge (0: do not wait)")
          ->transform(config::durationSeconds()),
      args.openWait);
  open->add_flag("--even-if-offline", args.evenIfOffline,
                 "Open even when the edge's heartbeats say it is offline (an unknown edge is "
                 "still refused)");
  auto* close = command(session->add_subcommand("close", "Stop frp on an edge"),
                        "cloud-dispatcher session close --edge elevator-0042");
  close->add_option("--edge", args.edge, "Edge id")->required();
  config::durationDefault(
      close->add_option("--wait", args.closeWait, "How long to wait for the edge (0: do not wait)")
          ->transform(config::durationSeconds()),
      args.closeWait);
  close->add_flag("--force", args.force,
                  "Publish the stop request even when no live session is recorded for the edge");

  auto* sessions = command(app.add_subcommand("sessions", "List or show sessions"),
                           "cloud-dispatcher sessions list --active");
  sessions->require_subcommand(1);
  auto* sessionsList = command(sessions->add_subcommand("list", "Sessions, newest first"),
                               "cloud-dispatcher sessions list --edge elevator-0042 --limit 10");
  sessionsList->add_flag("--active", args.active, "Only live sessions (opening or active)");
  sessionsList->add_option("--edge", args.edge, "Only this edge");
  sessionsList->add_option("--limit", args.limit, "At most this many")->capture_default_str();
  auto* sessionsShow = command(sessions->add_subcommand("show", "One session"),
                               "cloud-dispatcher sessions show 42 --json");
  sessionsShow->add_option("ID", args.sessionId, "Session id")->required();

  auto* edges = command(app.add_subcommand("edges", "Provision or list edges"),
                        "cloud-dispatcher edges list --offline");
  edges->require_subcommand(1);
  auto* edgesAdd =
      command(edges->add_subcommand("add", "Create edge topics with the Kafka admin API"),
              "cloud-dispatcher edges add elevator-0042 elevator-0043");
  edgesAdd->add_option("ID", args.edgeIds, "Edge ids")->required();
  auto* edgesList = command(edges->add_subcommand("list", "Edges with online state"),
                            "cloud-dispatcher edges list --online --json");
  edgesList->add_flag("--online", args.online, "Only online edges");
  edgesList->add_flag("--offline", args.offline, "Only offline edges");
  edgesList->add_option("--edge", args.edge, "Only this edge");
  edgesList->add_option("--limit", args.limit, "At most this many")->capture_default_str();

  auto* requests = command(app.add_subcommand("requests", "Show or list requests"),
                           "cloud-dispatcher requests list --status timeout --since 1h");
  requests->require_subcommand(1);
  auto* requestsShow =
      command(requests->add_subcommand("show", "One request with its answer (exit 6: not found)"),
              "cloud-dispatcher requests show 7d1c5c6e-3f0e-4b7e-9a55-0b1f2e6f9a10 --json");
  requestsShow->add_option("ID", args.requestId, "Request id")->required();
  requestsShow->add_option("--edge", args.edge, "Only on this edge");
  auto* requestsList = command(requests->add_subcommand("list", "Requests, newest first"),
                               "cloud-dispatcher requests list --edge elevator-0042 --since 15m");
  requestsList->add_option("--edge", args.edge, "Only this edge");
  requestsList->add_option("--status", args.status, "pending, succeeded, failed, stale or timeout");
  requestsList->add_option("--type", args.type, "Only this request type");
  requestsList->add_option("--since", args.since, "Sent since: a duration (15m) or RFC 3339 time");
  requestsList->add_option("--limit", args.limit, "At most this many")->capture_default_str();

  auto* events =
      command(app.add_subcommand("events", "Edge events"), "cloud-dispatcher events tail --follow");
  events->require_subcommand(1);
  auto* tail = command(events->add_subcommand("tail", "The newest events; --follow for new ones"),
                       "cloud-dispatcher events tail --edge elevator-0042 --type frp_stopped -f");
  tail->add_option("--edge", args.edge, "Only this edge");
  tail->add_option("--type", args.type, "Only this event type");
  tail->add_option("--limit", args.limit, "How many to show first")->capture_default_str();
  tail->add_flag("-f,--follow", args.follow, "Keep printing new events until interrupted");

  auto parsed = config::parse(app, argc, argv);
  if (!parsed.proceed) {
    return config::report(parsed);
  }
  config::Problems problems = options.validate();
  if (args.limit < 1 || args.limit > 1000000) {
    problems.add("limit", "expected 1-1000000");
  }
  if (!problems.empty()) {
    std::fprintf(stderr, "cloud-dispatcher: configuration problems:\n");
    for (const auto& line : problems.lines()) {
      std::fprintf(stderr, "  %s\n", line.c_str());
    }
    return kExitUsage;
  }
  const bool daemon = run->parsed();
  std::string level = options.logLevel;
  if (!daemon && !args.verbose) {
    auto parsedLevel = log::parseLevel(level);
    if (parsedLevel && *parsedLevel < spdlog::level::warn) {
      level = "warn";
    }
  }
  (void)log::init(level);

  Cli cli(options, args);
  if (daemon) {
    return cli.run();
  }
  if (verify->parsed()) {
    return cli.verify();
  }
  if (migrate->parsed()) {
    return cli.migrateDb();
  }
  if (dbStatus->parsed()) {
    return cli.dbStatus();
  }
  if (send->parsed()) {
    return cli.send();
  }
  if (open->parsed()) {
    return cli.sessionOpen();
  }
  if (close->parsed()) {
    return cli.sessionClose();
  }
  if (sessionsList->parsed()) {
    return cli.sessionsList();
  }
  if (sessionsShow->parsed()) {
    return cli.sessionsShow();
  }
  if (edgesAdd->parsed()) {
    return cli.edgesAdd();
  }
  if (edgesList->parsed()) {
    return cli.edgesList();
  }
  if (requestsShow->parsed()) {
    return cli.requestsShow();
  }
  if (requestsList->parsed()) {
    return cli.requestsList();
  }
  if (tail->parsed()) {
    return cli.eventsTail();
  }
  std::fprintf(stderr, "cloud-dispatcher: no command given; see --help\n");
  return kExitUsage;
}

}  // namespace edgelink::dispatcher
