// The dispatcher's contract with operators and web backends, through the real binary: sessions
// are refused for unknown and offline edges (issue #9 item 4), unknown commands are named (item
// 5), `session close` with nothing to close says so (item 6); and issue #17: every published
// request carries expires_at, timeouts are marked once and notified, CLOUD_DISPATCHER_CONFIG
// names the config file, one JSON style for every notification, exit code 6 for "not found",
// help that writes durations as the docs do and shows the global flags and an example.
#include <rapidjson/document.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>

#include "db/migrations.h"
#include "dispatcher_harness.h"
#include "envelope/envelope.h"
#include "harness/kafka_test_client.h"
#include "online_edges.h"
#include "test_messages.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

/// Runs the binary with `env` added and no --config of the harness's own (unless in `args`).
CliResult runWithEnv(DispatcherHarness& h, const std::vector<std::string>& args,
                     const std::vector<std::string>& env, const std::string& name) {
  SpawnOptions opts;
  opts.argv = {dispatcherPath()};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.extraEnv = env;
  opts.stdoutPath = h.dir().file(name + ".out");
  opts.stderrPath = h.dir().file(name + ".err");
  auto p = Subprocess::spawn(opts);
  REQUIRE(p.ok());
  auto status = p->waitFor(60000);
  CliResult r;
  r.code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  r.out = readText(opts.stdoutPath);
  r.err = readText(opts.stderrPath);
  return r;
}

/// True when nothing was published to `edge`'s topic before this call: a marker produced now is
/// the topic's first message.
bool nothingPublished(DispatcherHarness& h, const std::string& edge) {
  KafkaTestClient kafka(h.broker().bootstrap());
  const std::string marker = requestJson("marker-" + std::to_string(nowMs()));
  kafka.produce(h.topic(edge), edge, marker);
  auto records = kafka.readFromStart(h.topic(edge), 1, 20000);
  return !records.empty() && records[0].value == marker;
}

/// The requests on an edge's topic, decoded, in topic order (waits for at least `count`).
std::vector<envelope::Envelope> publishedRequests(DispatcherHarness& h, const std::string& edge,
                                                  size_t count) {
  KafkaTestClient kafka(h.broker().bootstrap());
  envelope::Decoder decoder;
  std::vector<envelope::Envelope> out;
  for (const auto& rec : kafka.readFromStart(h.topic(edge), count, 20000)) {
    auto d = decoder.decode(rec.value);
    REQUIRE(d.ok());
    if (d->kind == envelope::Kind::kRequest) {
      out.push_back(std::move(*d));
    }
  }
  return out;
}

/// Waits for notifications on `db` until `done` says enough, or `timeoutMs` passes.
std::vector<dispatcher::pg::Notification> collect(
    dispatcher::pg::Connection& db,
    const std::function<bool(const std::vector<dispatcher::pg::Notification>&)>& done,
    int timeoutMs) {
  std::vector<dispatcher::pg::Notification> got;
  waitUntil(
      [&] {
        auto n = db.waitNotification(100);
        REQUIRE(n.ok());
        if (*n) {
          got.push_back(**n);
        }
        return done(got);
      },
      timeoutMs, 1);
  return got;
}

std::string member(const std::string& json, const char* key) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (!d.IsObject() || !d.HasMember(key)) {
    return "<absent>";
  }
  const auto& v = d[key];
  if (v.IsNull()) {
    return "null";
  }
  if (v.IsString()) {
    return v.GetString();
  }
  if (v.IsInt64()) {
    return std::to_string(v.GetInt64());
  }
  return v.IsBool() ? (v.GetBool() ? "true" : "false") : "?";
}

/// Compact JSON: no whitespace outside strings.
bool compact(const std::string& json) {
  bool inString = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (inString) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        inString = false;
      }
    } else if (c == '"') {
      inString = true;
    } else if (c == ' ' || c == '\n' || c == '\t') {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("session open refuses an unknown edge at once: no ports, no session, nothing published",
          "[dispatcher][contract][sessions]") {
  DispatcherHarness h;
  auto r = h.cli({"session", "open", "--edge", "e1", "--wait", "30"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("edge e1 is not known: `edges add` it first"));
  CHECK(h.count("SELECT count(*) FROM sessions") == 0);
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
  CHECK(h.count("SELECT count(*) FROM requests") == 0);
  CHECK(nothingPublished(h, "e1"));
  // --even-if-offline does not make an unknown edge known.
  auto forced = h.cli({"session", "open", "--edge", "e1", "--even-if-offline", "--wait", "0"});
  CHECK(forced.code == 1);
  CHECK(h.count("SELECT count(*) FROM sessions") == 0);
}

TEST_CASE("session open refuses an edge offline by its heartbeats unless --even-if-offline",
          "[dispatcher][contract][sessions]") {
  DispatcherHarness h({{"e1", "e2"}, {"offline-after = \"3m\""}});
  h.sql(
      "INSERT INTO edges (edge_id, first_seen_at, last_heartbeat_at) VALUES"
      " ('e1', now() - interval '2 hours', now() - interval '1 hour') RETURNING 1");
  h.sql(
      "INSERT INTO edges (edge_id, first_seen_at, provisioned_at) VALUES ('e2', now(), now())"
      " RETURNING 1");
  auto r = h.cli({"session", "open", "--edge", "e1", "--wait", "30"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("edge e1 is offline: last seen (heartbeat) at "));
  CHECK_THAT(r.err, Catch::Matches("(.|\\n)* UTC, 1h[0-9ms]* ago(.|\\n)*"));
  CHECK_THAT(r.err, Catch::Contains("offline after 3m"));
  CHECK_THAT(r.err, Catch::Contains("--even-if-offline"));
  auto never = h.cli({"session", "open", "--edge", "e2", "--wait", "30"});
  CHECK(never.code == 1);
  CHECK_THAT(never.err, Catch::Contains("edge e2 is offline: it has never sent a heartbeat"));
  CHECK(h.count("SELECT count(*) FROM sessions") == 0);
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
  CHECK(h.count("SELECT count(*) FROM requests") == 0);
  CHECK(nothingPublished(h, "e1"));
  CHECK(nothingPublished(h, "e2"));

  auto forced = h.cli({"session", "open", "--edge", "e1", "--even-if-offline", "--wait", "0"});
  CHECK(forced.code == 0);
  CHECK(h.sql("SELECT state FROM sessions WHERE edge_id = 'e1'") == "opening");
  CHECK(h.count("SELECT count(*) FROM session_ports") == 3);
  CHECK(publishedRequests(h, "e1", 2).size() == 2);  // the marker, then the start
}

TEST_CASE("session close with no live session says so exits 1 and publishes nothing",
          "[dispatcher][contract][sessions]") {
  DispatcherHarness h;
  markOnline(h, "e1");
  auto r = h.cli({"session", "close", "--edge", "e1", "--wait", "5"});
  CHECK(r.code == 1);
  CHECK_THAT(r.err, Catch::Contains("edge e1 has no live session: nothing to close"));
  CHECK_THAT(r.out, !Catch::Contains("frp stopped"));
  CHECK(h.count("SELECT count(*) FROM requests") == 0);
  CHECK(nothingPublished(h, "e1"));
  auto forced = h.cli({"session", "close", "--edge", "e1", "--force", "--wait", "0"});
  CHECK(forced.code == 0);
  CHECK_THAT(forced.out, Catch::Contains("no live session was recorded"));
  CHECK(h.count("SELECT count(*) FROM requests") == 1);
}

TEST_CASE("not found has its own exit code 6", "[dispatcher][contract][cli]") {
  DispatcherHarness h;
  auto request = h.cli({"requests", "show", "no-such-request"});
  CHECK(request.code == 6);
  CHECK_THAT(request.err, Catch::Contains("no request or response with id no-such-request"));
  auto session = h.cli({"sessions", "show", "4711"});
  CHECK(session.code == 6);
  CHECK_THAT(session.err, Catch::Contains("no session 4711"));
}

TEST_CASE("unknown commands are named with the valid ones and exit 2",
          "[dispatcher][contract][cli]") {
  DispatcherHarness h({{"e1"}, {}, "", false});
  auto top = h.cli({"frobnicate"});
  CHECK(top.code == 2);
  CHECK_THAT(top.err, Catch::Contains("unknown command 'frobnicate'"));
  CHECK_THAT(top.err,
             Catch::Contains("run, verify, web, db, send, session, sessions, edges, requests, "
                             "events"));
  CHECK_THAT(top.err, !Catch::Contains("A subcommand is required"));
  auto nested = h.cli({"session", "frob", "--edge", "e1"});
  CHECK(nested.code == 2);
  CHECK_THAT(nested.err, Catch::Contains("unknown command 'session frob'"));
  CHECK_THAT(nested.err, Catch::Contains("session commands: open, close"));
  auto missing = h.cli({"db"});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("db: a command is required: migrate, status"));
  auto none = h.cli({});
  CHECK(none.code == 2);
  CHECK_THAT(none.err, Catch::Contains("a command is required: run, verify"));
}

TEST_CASE("CLOUD_DISPATCHER_CONFIG names the config file and --config wins over it",
          "[dispatcher][contract][cli]") {
  DispatcherHarness h;
  const std::string env = "CLOUD_DISPATCHER_CONFIG=" + h.configPath();
  auto fromEnv = runWithEnv(h, {"verify"}, {env}, "env-verify");
  INFO(fromEnv.err);
  CHECK(fromEnv.code == 0);
  CHECK_THAT(fromEnv.out, Catch::Contains("bootstrap.servers=" + h.broker().bootstrap()));
  CHECK_THAT(fromEnv.out, !Catch::Contains("127.0.0.1:9092"));
  // A command that needs the file's pg-conninfo works from the variable alone.
  auto listed = runWithEnv(h, {"requests", "list", "--json"}, {env}, "env-list");
  CHECK(listed.code == 0);
  CHECK(listed.out == "[]\n");

  writeText(h.dir().file("other.conf"), "kafka-brokers = \"other.example:9092\"\n");
  auto flagWins =
      runWithEnv(h, {"--config", h.dir().file("other.conf"), "verify"}, {env}, "env-flag-wins");
  CHECK(flagWins.code == 0);
  CHECK_THAT(flagWins.out, Catch::Contains("bootstrap.servers=other.example:9092"));
  auto afterCommand =
      runWithEnv(h, {"verify", "--config=" + h.dir().file("other.conf")}, {env}, "env-flag-after");
  CHECK_THAT(afterCommand.out, Catch::Contains("bootstrap.servers=other.example:9092"));
  // A file the variable names must exist; flags still override its keys.
  auto missing = runWithEnv(h, {"verify"}, {"CLOUD_DISPATCHER_CONFIG=" + h.dir().file("nope.conf")},
                            "env-missing");
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("CLOUD_DISPATCHER_CONFIG"));
  CHECK_THAT(missing.err, Catch::Contains("nope.conf"));
  auto override = runWithEnv(h, {"verify", "--kafka-brokers", "flag.example:1"}, {env}, "env-ovr");
  CHECK_THAT(override.out, Catch::Contains("bootstrap.servers=flag.example:1"));
  // --help names the variable.
  auto help = runWithEnv(h, {"--help"}, {}, "help");
  CHECK_THAT(help.out, Catch::Contains("CLOUD_DISPATCHER_CONFIG"));
}

TEST_CASE(
    "help writes durations as the docs do and each command shows the global flags and an "
    "example",
    "[dispatcher][contract][cli]") {
  DispatcherHarness h({{"e1"}, {}, "", false});
  auto top = runWithEnv(h, {"--help"}, {}, "top-help");
  CHECK(top.code == 0);
  for (const char* shown : {"2h", "30s", "15s", "10m", "7d", "3m", "1m"}) {
    INFO(shown);
    CHECK_THAT(top.out, Catch::Contains(std::string("DURATION=") + shown));
  }
  CHECK_THAT(top.out, !Catch::Contains("=7200"));
  CHECK_THAT(top.out, !Catch::Contains("=604800"));
  CHECK_THAT(top.out, Catch::Contains("retention.ms in milliseconds"));
  CHECK_THAT(top.out, Catch::Contains("6 not found"));
  const std::vector<std::vector<std::string>> commands = {{"run"},
                                                          {"verify"},
                                                          {"db", "migrate"},
                                                          {"db", "status"},
                                                          {"send"},
                                                          {"session", "open"},
                                                          {"session", "close"},
                                                          {"sessions", "list"},
                                                          {"sessions", "show"},
                                                          {"edges", "add"},
                                                          {"edges", "remove"},
                                                          {"edges", "list"},
                                                          {"requests", "show"},
                                                          {"requests", "list"},
                                                          {"events", "tail"}};
  int run = 0;
  for (auto args : commands) {
    std::string label;
    for (const auto& a : args) {
      label += a + " ";
    }
    INFO(label);
    args.push_back("--help");
    auto r = runWithEnv(h, args, {}, "help-" + std::to_string(++run));
    CHECK(r.code == 0);
    CHECK_THAT(r.out, Catch::Contains("Global flags"));
    CHECK_THAT(r.out, Catch::Contains("--config FILE"));
    CHECK_THAT(r.out, Catch::Contains("--json"));
    CHECK_THAT(r.out, Catch::Contains("\nExample: "));
  }
  auto open = runWithEnv(h, {"session", "open", "--help"}, {}, "open-help");
  CHECK_THAT(open.out, Catch::Contains("DURATION=1m"));  // --wait 60 s
  CHECK_THAT(open.out, Catch::Contains("--even-if-offline"));
}

TEST_CASE("every request the CLI publishes carries expires_at from its deadline",
          "[dispatcher][contract][expiry]") {
  DispatcherHarness h(
      {{"e1"},
       {"request-deadline = \"20s\"", "type-deadline = [\"change_frp_client_config=90s\"]",
        "answer-grace = \"5s\""}});
  markOnline(h, "e1");
  REQUIRE(h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "0"}).code == 0);
  REQUIRE(h.cli({"session", "open", "--edge", "e1", "--wait", "0"}).code == 0);
  REQUIRE(h.cli({"session", "close", "--edge", "e1", "--wait", "0"}).code == 0);
  auto published = publishedRequests(h, "e1", 3);
  REQUIRE(published.size() == 3);
  const std::vector<int64_t> deadlines = {20000, 90000, 90000};
  for (size_t i = 0; i < published.size(); ++i) {
    INFO(published[i].type << " " << published[i].id.str());
    REQUIRE(published[i].expiresAtMs.has_value());
    CHECK(*published[i].expiresAtMs - published[i].timestampMs == deadlines[i]);
    // Stored with it; the dispatcher's deadline is the expiry plus the answer grace.
    CHECK(h.sql("SELECT ((extract(epoch FROM deadline - expires_at)) * 1000)::bigint FROM"
                " requests WHERE id = '" +
                published[i].id.str() + "'") == "5000");
    CHECK(h.sql("SELECT ((extract(epoch FROM expires_at)) * 1000)::bigint FROM requests"
                " WHERE id = '" +
                published[i].id.str() + "'") == std::to_string(*published[i].expiresAtMs));
  }
  auto shown = h.cli({"requests", "show", published[0].id.str(), "--json"});
  CHECK_THAT(shown.out, Catch::Contains("\"expires_at\":\""));
}

TEST_CASE(
    "timeouts are marked once by several dispatchers and notified on edgelink_response and the "
    "opening session ends",
    "[dispatcher][contract][timeout]") {
  DispatcherHarness h(
      {{"e1"}, {"request-deadline = \"2s\"", "answer-grace = \"0s\"", "sweep-interval = \"1s\""}});
  markOnline(h, "e1");
  auto listener = dispatcher::pg::Connection::open(h.conninfo(), "listener");
  REQUIRE(listener.ok());
  REQUIRE((*listener)->listen(dispatcher::kResponseChannel));
  REQUIRE((*listener)->listen(dispatcher::kSessionChannel));
  // Two dispatchers against one database, both sweeping.
  h.startDaemon();
  h.startDaemon();
  std::set<std::string> sent;
  for (int i = 0; i < 10; ++i) {
    auto r = h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "0", "--json"});
    REQUIRE(r.code == 0);
    sent.insert(member(r.out, "id"));
  }
  auto opened = h.cli({"session", "open", "--edge", "e1", "--wait", "0", "--json"});
  REQUIRE(opened.code == 0);
  sent.insert(member(opened.out, "request_id"));
  REQUIRE(sent.size() == 11);

  auto got = collect(
      **listener,
      [&](const std::vector<dispatcher::pg::Notification>& n) {
        size_t timeouts = 0;
        bool sessionEnded = false;
        for (const auto& x : n) {
          timeouts += x.channel == dispatcher::kResponseChannel ? 1 : 0;
          sessionEnded = sessionEnded || (x.channel == dispatcher::kSessionChannel &&
                                          member(x.payload, "state") == "failed");
        }
        return timeouts >= sent.size() && sessionEnded;
      },
      60000);
  std::map<std::string, int> timeouts;
  for (const auto& n : got) {
    INFO(n.channel << " " << n.payload);
    CHECK(compact(n.payload));  // one encoder for every channel
    if (n.channel == dispatcher::kResponseChannel) {
      CHECK(member(n.payload, "edge_id") == "e1");
      CHECK(member(n.payload, "status_code") == "null");
      CHECK(member(n.payload, "state") == "timeout");
      ++timeouts[member(n.payload, "id")];
    }
  }
  CHECK(timeouts.size() == sent.size());
  for (const auto& [id, times] : timeouts) {
    INFO(id);
    CHECK(sent.count(id) == 1);
    CHECK(times == 1);
  }
  // Stored, and nothing left for either sweeper to notify again.
  CHECK(h.count("SELECT count(*) FROM requests WHERE timed_out_at IS NOT NULL") == 11);
  CHECK(h.count("SELECT count(*) FROM request_deadlines") == 0);
  CHECK(h.count("SELECT count(*) FROM request_status WHERE state = 'timeout'") == 11);
  // The session stuck 'opening' past its start's deadline ended, its ports free.
  CHECK(h.sql("SELECT state || ' ' || end_reason FROM sessions") == "failed no_answer");
  CHECK_THAT(h.sql("SELECT end_detail FROM sessions"), Catch::Contains("expires_at"));
  CHECK(h.count("SELECT count(*) FROM session_ports") == 0);
  const std::string sessionPayload =
      R"({"edge_id":"e1","session_id":1,"state":"failed","end_reason":"no_answer"})";
  CHECK(std::any_of(got.begin(), got.end(), [&](const dispatcher::pg::Notification& n) {
    return n.channel == dispatcher::kSessionChannel && n.payload == sessionPayload;
  }));
}

TEST_CASE("send --wait ends at the timeout notification and says the edge will not act",
          "[dispatcher][contract][timeout]") {
  DispatcherHarness h(
      {{"e1"}, {"request-deadline = \"2s\"", "answer-grace = \"0s\"", "sweep-interval = \"1s\""}});
  h.startDaemon();
  auto r = h.cli({"send", "--edge", "e1", "--type", "ping", "--wait", "10m"});
  CHECK(r.code == 3);
  CHECK_THAT(r.out, Catch::Contains("timeout, no answer by its deadline"));
  CHECK_THAT(r.out, Catch::Contains("the edge will not act on it"));
}
