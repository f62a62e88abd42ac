// The web console's REST API against the real binary (`run` with http-listen), real PostgreSQL
// and Kafka: logins and their cookie, CSRF, origins and roles, the rate limit, the reads with
// search/sort/paging, the changes through the CLI's commands, live updates from NOTIFY, the
// pages, and bad input of every kind answered 4xx.

#include <rapidjson/document.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <thread>

#include "dispatcher_harness.h"
#include "harness/http_probe.h"
#include "harness/test_util.h"
#include "web_test_util.h"

using namespace edgelink;
using namespace edgelink::testing;

namespace {

rapidjson::Document json(const HttpResponse& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  INFO(r.body);
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

/// A logged-in caller: its cookie header and CSRF token.
struct Login {
  std::string cookie;
  std::string csrf;
  std::vector<std::string> post() const {
    return {cookie, "X-CSRF-Token: " + csrf, "Content-Type: application/json"};
  }
};

Login login(int port, const std::string& user, const std::string& password) {
  auto r = httpRequest(port, "POST", "/api/v1/login", {"Content-Type: application/json"},
                       "{\"user\":\"" + user + "\",\"password\":\"" + password + "\"}");
  INFO(r.body);
  REQUIRE(r.status == 200);
  const std::string setCookie = r.header("Set-Cookie");
  REQUIRE(setCookie.rfind("edgelink_session=", 0) == 0);
  Login l;
  l.cookie = "Cookie: " + setCookie.substr(0, setCookie.find(';'));
  l.csrf = json(r)["csrf"].GetString();
  return l;
}

DispatcherHarness::Setup consoleSetup() {
  DispatcherHarness::Setup s({"e1"}, {"http-listen = \"127.0.0.1:0\""});
  return s;
}

}  // namespace

TEST_CASE("console logins: the cookie's flags, CSRF, roles, logout, the rate limit",
          "[web][integration]") {
  DispatcherHarness h(consoleSetup());
  addWebUser(h, "olga", "operator", "operator-password-1");
  addWebUser(h, "vic", "viewer", "viewer-password-1");
  h.startDaemon();
  const int port = consolePort(h, 0);
  REQUIRE(port > 0);

  // Not logged in: 401, for reads and changes alike.
  CHECK(httpGet(port, "/api/v1/me").status == 401);
  CHECK(httpGet(port, "/api/v1/edges").status == 401);
  CHECK(httpRequest(port, "POST", "/api/v1/edges/e1/requests", {}, "{}").status == 401);

  auto bad = httpRequest(port, "POST", "/api/v1/login", {"Content-Type: application/json"},
                         R"({"user":"olga","password":"wrong-password"})");
  CHECK(bad.status == 401);
  CHECK(bad.header("Set-Cookie").empty());
  // A form post (what a cross-site page can send without asking) is not a login.
  CHECK(httpRequest(port, "POST", "/api/v1/login",
                    {"Content-Type: application/x-www-form-urlencoded"},
                    "user=olga&password=operator-password-1")
            .status == 415);
  CHECK(httpRequest(port, "POST", "/api/v1/login", {"Content-Type: application/json"},
                    R"({"user":"olga"})")
            .status == 400);

  auto ok = httpRequest(port, "POST", "/api/v1/login", {"Content-Type: application/json"},
                        R"({"user":"olga","password":"operator-password-1"})");
  REQUIRE(ok.status == 200);
  const std::string cookie = ok.header("Set-Cookie");
  CHECK(cookie.find("; HttpOnly") != std::string::npos);
  CHECK(cookie.find("; Secure") != std::string::npos);
  CHECK(cookie.find("; SameSite=Strict") != std::string::npos);
  CHECK(ok.header("Content-Security-Policy").find("default-src 'self'") != std::string::npos);
  // Only a hash of the token is stored.
  const std::string token = cookie.substr(17, cookie.find(';') - 17);
  CHECK(h.count("SELECT count(*) FROM web_sessions") == 1);
  CHECK(h.count("SELECT count(*) FROM web_sessions s WHERE position('" + token +
                "' IN s::text) > 0") == 0);

  Login olga = login(port, "olga", "operator-password-1");
  auto me = json(httpRequest(port, "GET", "/api/v1/me", {olga.cookie}));
  CHECK(std::string(me["user"].GetString()) == "olga");
  CHECK(std::string(me["role"].GetString()) == "operator");

  // A change without the CSRF token, with a wrong one, or from another origin: 403.
  CHECK(httpRequest(port, "POST", "/api/v1/edges/e1/requests",
                    {olga.cookie, "Content-Type: application/json"}, R"({"type":"ping"})")
            .status == 403);
  CHECK(httpRequest(port, "POST", "/api/v1/edges/e1/requests",
                    {olga.cookie, "X-CSRF-Token: nope", "Content-Type: application/json"},
                    R"({"type":"ping"})")
            .status == 403);
  auto crossOrigin = olga.post();
  crossOrigin.push_back("Origin: http://evil.example");
  CHECK(httpRequest(port, "POST", "/api/v1/edges/e1/requests", crossOrigin, R"({"type":"ping"})")
            .status == 403);
  CHECK(h.count("SELECT count(*) FROM requests") == 0);

  // A viewer reads but changes nothing.
  Login vic = login(port, "vic", "viewer-password-1");
  CHECK(httpRequest(port, "GET", "/api/v1/edges", {vic.cookie}).status == 200);
  auto refused = httpRequest(port, "POST", "/api/v1/edges/e1/session", vic.post(), "{}");
  CHECK(refused.status == 403);
  CHECK(json(refused)["error"].GetString() == std::string("your role (viewer) may not do this: "
                                                          "it needs operator or admin"));
  CHECK(h.count("SELECT count(*) FROM sessions") == 0);

  // Logout ends that login only.
  CHECK(httpRequest(port, "POST", "/api/v1/logout", vic.post()).status == 204);
  CHECK(httpRequest(port, "GET", "/api/v1/me", {vic.cookie}).status == 401);
  CHECK(httpRequest(port, "GET", "/api/v1/me", {olga.cookie}).status == 200);

  // Failed logins for one name are slowed down: 429 with Retry-After, even for the right
  // password, while the window lasts.
  int limited = 0;
  for (int i = 0; i < 12 && limited == 0; ++i) {
    auto r = httpRequest(port, "POST", "/api/v1/login", {"Content-Type: application/json"},
                         R"({"user":"vic","password":"guess-)" + std::to_string(i) + "\"}");
    if (r.status == 429) {
      limited = i;
      CHECK(std::atoi(r.header("Retry-After").c_str()) > 0);
    } else {
      CHECK(r.status == 401);
    }
  }
  CHECK(limited > 0);
  CHECK(httpRequest(port, "POST", "/api/v1/login", {"Content-Type: application/json"},
                    R"({"user":"vic","password":"viewer-password-1"})")
            .status == 429);
  // Every attempt is in the audit trail.
  CHECK(h.count("SELECT count(*) FROM web_audit WHERE action = 'login_failed'") >= 3);
  CHECK(h.count("SELECT count(*) FROM web_audit WHERE action = 'login' AND user_name = 'olga'") ==
        2);
}

TEST_CASE("console reads: search, filter, sort and pages over many edges", "[web][integration]") {
  DispatcherHarness h(consoleSetup());
  addWebUser(h, "vic", "viewer", "viewer-password-1");
  h.sql(
      "INSERT INTO edges (edge_id, first_seen_at, last_heartbeat_at, agent_version, hostname)"
      " SELECT 'elevator-' || lpad(i::text, 4, '0'), now() - interval '1 day',"
      " CASE WHEN i % 2 = 0 THEN now() ELSE now() - interval '1 hour' END, '1.' || (i % 3),"
      " 'board-' || i FROM generate_series(1, 1200) i");
  h.sql(
      "INSERT INTO edge_labels (edge_id, label) SELECT 'elevator-' || lpad(i::text, 4, '0'),"
      " 'site:sh' FROM generate_series(1, 30) i");
  h.startDaemon();
  const int port = consolePort(h, 0);
  Login vic = login(port, "vic", "viewer-password-1");
  auto get = [&](const std::string& path) { return httpRequest(port, "GET", path, {vic.cookie}); };

  auto all = json(get("/api/v1/edges"));
  CHECK(all["total"].GetInt() == 1200);
  CHECK(all["items"].Size() == 50);
  CHECK(std::string(all["items"][0]["edge_id"].GetString()) == "elevator-0001");
  auto page3 = json(get("/api/v1/edges?limit=100&offset=200&sort=edge_id&order=desc"));
  REQUIRE(page3["items"].Size() == 100);
  CHECK(std::string(page3["items"][0]["edge_id"].GetString()) == "elevator-1000");
  auto online = json(get("/api/v1/edges?online=true&limit=500"));
  CHECK(online["total"].GetInt() == 600);
  for (const auto& e : online["items"].GetArray()) {
    CHECK(e["online"].GetBool());
  }
  auto search = json(get("/api/v1/edges?q=elevator-011"));
  CHECK(search["total"].GetInt() == 10);
  CHECK(json(get("/api/v1/edges?q=board-1199"))["total"].GetInt() == 1);
  CHECK(json(get("/api/v1/edges?q=%25"))["total"].GetInt() == 0);  // '%' is a character
  auto labelled = json(get("/api/v1/edges?label=site:sh"));
  CHECK(labelled["total"].GetInt() == 30);
  CHECK(std::string(labelled["items"][0]["labels"][0].GetString()) == "site:sh");
  auto bySeen = json(get("/api/v1/edges?sort=last_seen&order=desc&limit=1"));
  CHECK(bySeen["items"][0]["online"].GetBool());

  auto one = json(get("/api/v1/edges/elevator-0002"));
  CHECK(std::string(one["hostname"].GetString()) == "board-2");
  CHECK(one["session"].IsNull());
  CHECK(one["system"].IsNull());
  CHECK(get("/api/v1/edges/nope").status == 404);
  CHECK(json(get("/api/v1/edges/elevator-0002/requests"))["total"].GetInt() == 0);
  CHECK(json(get("/api/v1/sessions?active=true"))["total"].GetInt() == 0);
  CHECK(get("/api/v1/sessions/42").status == 404);

  // Bad parameters: 400 naming them; never a 5xx.
  for (const char* path :
       {"/api/v1/edges?limit=0", "/api/v1/edges?limit=501", "/api/v1/edges?offset=-1",
        "/api/v1/edges?sort=password", "/api/v1/edges?order=up", "/api/v1/edges?online=maybe",
        "/api/v1/edges?q=%zz", "/api/v1/edges/bad%20id", "/api/v1/sessions/x", "/api/v1/sessions/0",
        "/api/v1/sessions?active=1", "/api/v1/sessions?edge=a%20b"}) {
    auto r = get(path);
    INFO(path << " -> " << r.status << " " << r.body);
    CHECK(r.status == 400);
    CHECK(json(r).HasMember("error"));
  }
  CHECK(get("/api/v1/nothing").status == 404);
  CHECK(get("/api/v1/edges/../../etc/passwd").status == 404);
  CHECK(httpRequest(port, "DELETE", "/api/v1/edges", {vic.cookie}).status == 405);
  CHECK(httpRequest(port, "POST", "/api/v1/login", {"Content-Type: application/json"},
                    std::string(70 * 1024, 'x'))
            .status == 413);

  // The pages and the spec are served from the binary.
  auto page = httpGet(port, "/");
  CHECK(page.status == 200);
  CHECK(page.header("Content-Type") == "text/html; charset=utf-8");
  CHECK(page.body.find("<html") != std::string::npos);
  CHECK(httpGet(port, "/static/vendor/xterm/xterm.js").status == 200);
  CHECK(httpGet(port, "/static/../CMakeLists.txt").status == 404);
  CHECK(httpGet(port, "/static/nothing.js").status == 404);
  auto spec = httpGet(port, "/api/v1/openapi.json");
  CHECK(spec.status == 200);
  CHECK(json(spec).HasMember("paths"));
}

TEST_CASE("console changes run the CLI's commands: same checks, rows, audit and exit codes",
          "[web][integration]") {
  DispatcherHarness h(consoleSetup());
  addWebUser(h, "olga", "operator", "operator-password-1");
  h.sql("INSERT INTO edges (edge_id, first_seen_at) VALUES ('e1', now()) ON CONFLICT DO NOTHING");
  h.startDaemon();
  const int port = consolePort(h, 0);
  Login olga = login(port, "olga", "operator-password-1");

  // send, not waiting: published and recorded, 200 with the CLI's JSON.
  auto sent = httpRequest(port, "POST", "/api/v1/edges/e1/requests", olga.post(),
                          R"({"type":"ping","wait":0,"description":"from the console"})");
  INFO(sent.body);
  REQUIRE(sent.status == 200);
  auto reply = json(sent);
  CHECK(reply["exit_code"].GetInt() == 0);
  CHECK(std::string(reply["outcome"].GetString()) == "ok");
  const std::string id = reply["result"]["id"].GetString();
  CHECK(h.waitFor("SELECT description FROM requests WHERE id = '" + id + "'", "from the console"));
  CHECK(h.count("SELECT count(*) FROM web_audit WHERE action = 'send' AND user_name = 'olga'"
                " AND target = 'e1'") == 1);
  auto listed = json(httpRequest(port, "GET", "/api/v1/edges/e1/requests", {olga.cookie}));
  REQUIRE(listed["total"].GetInt() == 1);
  CHECK(std::string(listed["items"][0]["request_id"].GetString()) == id);
  CHECK(std::string(listed["items"][0]["type"].GetString()) == "ping");
  CHECK(std::string(listed["items"][0]["state"].GetString()) == "pending");

  // session open on an edge that is offline: the CLI's refusal (exit 1) as 409, nothing held.
  auto offline =
      httpRequest(port, "POST", "/api/v1/edges/e1/session", olga.post(), R"({"auto_stop":"1h"})");
  CHECK(offline.status == 409);
  auto refusal = json(offline);
  CHECK(std::string(refusal["outcome"].GetString()) == "refused");
  CHECK(std::string(refusal["error"].GetString()).find("offline") != std::string::npos);
  CHECK(h.count("SELECT count(*) FROM sessions") == 0);
  // close with no live session: the CLI's "no live session" (exit 1).
  CHECK(httpRequest(port, "POST", "/api/v1/edges/e1/session/close", olga.post(), "{}").status ==
        409);

  // Unknown edges and bad bodies: 404 and 400, nothing published.
  CHECK(httpRequest(port, "POST", "/api/v1/edges/ghost/requests", olga.post(), R"({"type":"ping"})")
            .status == 404);
  for (const std::string& body :
       {std::string("{"), std::string(R"({"type":1})"), std::string(R"({"type":"ping","x":1})"),
        std::string(R"({"type":"ping","wait":"1y"})"),
        std::string(R"({"type":"ping","wait":"3h"})"), std::string("[]"),
        std::string(R"({"body":{}})")}) {
    auto r = httpRequest(port, "POST", "/api/v1/edges/e1/requests", olga.post(), body);
    INFO(body << " -> " << r.body);
    CHECK(r.status == 400);
  }
  auto badOpen = httpRequest(port, "POST", "/api/v1/edges/e1/session", olga.post(),
                             R"({"mode":"udp","even_if_offline":true})");
  CHECK(badOpen.status == 400);
  CHECK(std::string(json(badOpen)["outcome"].GetString()) == "usage");
  CHECK(h.count("SELECT count(*) FROM requests") == 1);
}

TEST_CASE("live updates: NOTIFY reaches an open stream at once", "[web][integration]") {
  DispatcherHarness h(consoleSetup());
  addWebUser(h, "vic", "viewer", "viewer-password-1");
  h.startDaemon();
  const int port = consolePort(h, 0);
  Login vic = login(port, "vic", "viewer-password-1");
  HttpResponse streamed;
  std::thread reader([&] {
    // HTTP/1.0 and a 3 s bound: what arrived by then is the answer.
    streamed = httpRequest(port, "GET", "/api/v1/stream", {vic.cookie}, "", 3000);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  h.sql("SELECT pg_notify('edgelink_session', '{\"edge_id\":\"e1\",\"session_id\":7}')");
  h.sql("SELECT pg_notify('edgelink_event', '{\"edge_id\":\"e1\",\"type\":\"heartbeat\"}')");
  reader.join();
  CHECK(streamed.header("Content-Type") == "text/event-stream");
  CHECK(streamed.body.find("event: session\ndata: {\"edge_id\":\"e1\",\"session_id\":7}\n\n") !=
        std::string::npos);
  CHECK(streamed.body.find("event: event\n") != std::string::npos);
  CHECK(httpGet(port, "/api/v1/stream").status == 401);
}
