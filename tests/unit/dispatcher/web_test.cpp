// The web console's pure parts: query strings, cookies, paths, exit codes as statuses, origins,
// server-sent events and their fan-out, the CLI arguments of the API's changes, the compiled-in
// files, and the OpenAPI file held to the server's real routes.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <sstream>

#include "web/api_commands.h"
#include "web/assets.h"
#include "web/http.h"
#include "web/server.h"
#include "web/stream.h"

using namespace edgelink;
using namespace edgelink::dispatcher::web;

namespace {

rapidjson::Document parse(const std::string& text) {
  rapidjson::Document d;
  d.Parse(text.c_str());
  REQUIRE_FALSE(d.HasParseError());
  return d;
}

}  // namespace

TEST_CASE("query strings decode strictly", "[web][http]") {
  auto q = parseQuery("q=elevator%2D00&online=true&label=site%3Ash&x=a+b&&empty=");
  REQUIRE(q);
  CHECK(q->at("q") == "elevator-00");
  CHECK(q->at("online") == "true");
  CHECK(q->at("label") == "site:sh");
  CHECK(q->at("x") == "a b");
  CHECK(q->at("empty").empty());
  CHECK_FALSE(parseQuery("q=%zz"));
  CHECK_FALSE(parseQuery("q=%4"));
  CHECK_FALSE(parseQuery("q=%"));
  CHECK_FALSE(parseQuery("q=a%00b"));  // no NUL sneaks into SQL parameters
  CHECK(parseQuery("")->empty());
  CHECK(percentDecode("a+b", false) == std::optional<std::string>("a+b"));
}

TEST_CASE("the session cookie is found among others", "[web][http]") {
  CHECK(cookieValue("a=1; edgelink_session=tok; b=2", "edgelink_session") == "tok");
  CHECK(cookieValue("edgelink_session_x=1;edgelink_session= t2 ", "edgelink_session") == "t2");
  CHECK(cookieValue("other=1", "edgelink_session").empty());
  CHECK(cookieValue("", "edgelink_session").empty());
}

TEST_CASE("paths split into decoded segments, traversal refused", "[web][http]") {
  auto s = pathSegments("/api/v1/edges/elevator%2E1/requests", "/api/v1");
  REQUIRE(s);
  CHECK(*s == std::vector<std::string>{"edges", "elevator.1", "requests"});
  CHECK(pathSegments("/api/v1", "/api/v1")->empty());
  CHECK(pathSegments("/api/v1/", "/api/v1")->empty());
  CHECK(*pathSegments("/api/v1/edges/", "/api/v1") == std::vector<std::string>{"edges"});
  CHECK_FALSE(pathSegments("/api/v10/edges", "/api/v1"));
  CHECK_FALSE(pathSegments("/static/x", "/api/v1"));
  CHECK_FALSE(pathSegments("/api/v1/edges/..", "/api/v1"));
  CHECK_FALSE(pathSegments("/api/v1/edges/%2e%2e", "/api/v1"));
  CHECK_FALSE(pathSegments("/api/v1/edges/a%2Fb", "/api/v1"));
  CHECK_FALSE(pathSegments("/api/v1//edges", "/api/v1"));
  CHECK_FALSE(pathSegments("/api/v1/edges/%zz", "/api/v1"));
  // A path the server decoded already is not decoded twice.
  CHECK(*pathSegments("/api/v1/edges/a%2541", "/api/v1", false) ==
        std::vector<std::string>{"edges", "a%2541"});
  CHECK_FALSE(pathSegments("/api/v1/edges/..", "/api/v1", false));
}

TEST_CASE("the CLI's exit codes become HTTP statuses and words", "[web][http]") {
  CHECK(httpStatusForExit(0) == 200);
  CHECK(httpStatusForExit(1) == 409);
  CHECK(httpStatusForExit(2) == 400);
  CHECK(httpStatusForExit(3) == 504);
  CHECK(httpStatusForExit(4) == 503);
  CHECK(httpStatusForExit(5) == 503);
  CHECK(httpStatusForExit(6) == 404);
  CHECK(httpStatusForExit(70) == 500);
  CHECK(std::string(outcomeForExit(3)) == "timeout");
  CHECK(std::string(outcomeForExit(6)) == "not_found");
}

TEST_CASE("integer parameters are bounded and named", "[web][http]") {
  std::map<std::string, std::string> q = {{"limit", "20"}, {"offset", "-1"}, {"big", "9e9"}};
  CHECK(*intParam(q, "limit", 50, 1, 500) == 20);
  CHECK(*intParam(q, "absent", 50, 1, 500) == 50);
  auto bad = intParam(q, "offset", 0, 0, 100);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().status == Status::kBadRequest);
  CHECK(bad.error().message.find("offset") != std::string::npos);
  CHECK_FALSE(intParam(q, "big", 0, 0, 100));
  CHECK_FALSE(intParam({{"limit", "501"}}, "limit", 50, 1, 500));
  CHECK_FALSE(intParam({{"limit", ""}}, "limit", 50, 1, 500));
}

TEST_CASE("an Origin must name the Host", "[web][http]") {
  CHECK(sameOrigin("", "console.example:8080"));  // curl, scripts: no Origin
  CHECK(sameOrigin("http://127.0.0.1:8080", "127.0.0.1:8080"));
  CHECK(sameOrigin("https://Console.Example", "console.example:443"));
  CHECK(sameOrigin("http://console.example:80", "console.example"));
  CHECK_FALSE(sameOrigin("http://evil.example:8080", "127.0.0.1:8080"));
  CHECK_FALSE(sameOrigin("http://127.0.0.1:8081", "127.0.0.1:8080"));
  CHECK_FALSE(sameOrigin("null", "127.0.0.1:8080"));
  CHECK_FALSE(sameOrigin("http://127.0.0.1:8080/x", "127.0.0.1:8080"));
}

TEST_CASE("every answer carries the security headers", "[web][http]") {
  const std::string h = securityHeaders();
  CHECK(h.find("Content-Security-Policy: default-src 'self'") != std::string::npos);
  CHECK(h.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(h.find("X-Content-Type-Options: nosniff\r\n") != std::string::npos);
  CHECK(h.substr(h.size() - 2) == "\r\n");
  auto e = parse(errorJson("a \"quoted\"\nline"));
  CHECK(std::string(e["error"].GetString()) == "a \"quoted\"\nline");
}

TEST_CASE("server-sent events are framed line by line", "[web][stream]") {
  CHECK(formatServerSentEvent({"session", "{\"a\":1}"}) == "event: session\ndata: {\"a\":1}\n\n");
  CHECK(formatServerSentEvent({"x", "a\nb"}) == "event: x\ndata: a\ndata: b\n\n");
  CHECK(eventNameForChannel("edgelink_session") == "session");
  CHECK(eventNameForChannel("edgelink_response") == "response");
  CHECK(eventNameForChannel("edgelink_event") == "event");
  CHECK(eventNameForChannel("other").empty());
}

TEST_CASE("the stream fans out, bounds its subscribers and resets the slow", "[web][stream]") {
  EventStream stream("", 3, 2);  // not started: no database
  auto a = stream.subscribe();
  auto b = stream.subscribe();
  REQUIRE(a);
  REQUIRE(b);
  CHECK(stream.subscribe() == nullptr);  // at most 2
  stream.publish({"session", "1"});
  auto got = a->wait(0);
  REQUIRE(got.size() == 1);
  CHECK(got[0].data == "1");
  for (int i = 2; i <= 4; ++i) {
    stream.publish({"session", std::to_string(i)});
  }
  // a took 1, then holds 2..4 (its queue of 3); b held 1..3 and 4 overflowed: a reset replaces
  // what it held, so its page re-reads instead of missing an update.
  auto gotA = a->wait(0);
  REQUIRE(gotA.size() == 3);
  CHECK(gotA[0].data == "2");
  CHECK(gotA[2].data == "4");
  CHECK(a->wait(0).empty());
  auto gotB = b->wait(0);
  REQUIRE(gotB.size() == 1);
  CHECK(gotB[0].name == "reset");
  CHECK(b->wait(0).empty());
  stream.publish({"event", "5"});
  CHECK(b->wait(0).front().data == "5");  // and then goes on
  stream.unsubscribe(b);
  CHECK(stream.subscribers() == 1);
  CHECK(stream.subscribe() != nullptr);
  stream.stop();
  CHECK(a->stopping());
}

TEST_CASE("API bodies become the CLI's arguments, strictly", "[web][commands]") {
  auto open =
      commandArgs("open", "elevator-0042",
                  parse(R"({"services":["ssh","web"],"auto_stop":"1h","mode":"stcp","wait":30,)"
                        R"("even_if_offline":true})"));
  REQUIRE(open);
  CHECK(*open == std::vector<std::string>{"session", "open", "--edge=elevator-0042",
                                          "--services=ssh,web", "--auto-stop=3600", "--mode=stcp",
                                          "--wait=30", "--even-if-offline"});
  auto send = commandArgs("send", "-rf", parse(R"({"type":"system_info","body":{"a":[1]}})"));
  REQUIRE(send);
  // "--edge=-rf": an edge id starting with '-' is a value, never a flag.
  CHECK(*send ==
        std::vector<std::string>{"send", "--edge=-rf", "--type=system_info", "--body={\"a\":[1]}"});
  auto unknown = commandArgs("close", "e", parse(R"({"wait":1,"services":["ssh"]})"));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().field == "services");
  CHECK(unknown.error().message.find("force, wait") != std::string::npos);
  CHECK_FALSE(commandArgs("open", "e", parse(R"({"services":"ssh"})")));
  CHECK_FALSE(commandArgs("open", "e", parse(R"({"services":["a,b"]})")));
  CHECK_FALSE(commandArgs("open", "e", parse(R"({"services":[]})")));
  CHECK_FALSE(commandArgs("open", "e", parse(R"({"auto_stop":"soon"})")));
  CHECK_FALSE(commandArgs("open", "e", parse(R"({"auto_stop":-5})")));
  CHECK_FALSE(commandArgs("open", "e", parse(R"({"even_if_offline":"yes"})")));
  auto longWait = commandArgs("extend", "e", parse(R"({"wait":"1d"})"));
  REQUIRE_FALSE(longWait);
  CHECK(longWait.error().message.find("at most 120") != std::string::npos);
  CHECK_FALSE(commandArgs("send", "e", parse(R"({"body":{}})")));  // type is required
  CHECK_FALSE(commandArgs("send", "e", parse(R"({"type":"a\nb"})")));
  CHECK_FALSE(commandArgs("send", "e", parse(R"({"type":"x","body":[1]})")));
  CHECK_FALSE(commandArgs("open", "e", parse("[1]")));
}

TEST_CASE("a command's outcome answers as JSON with its exit code", "[web][commands]") {
  auto ok = parse(commandReplyJson({0, "{\"session_id\":7}\n", ""}));
  CHECK(ok["exit_code"].GetInt() == 0);
  CHECK(std::string(ok["outcome"].GetString()) == "ok");
  CHECK(ok["result"]["session_id"].GetInt() == 7);
  auto refused = parse(commandReplyJson({1, "", "edge e has a live session"}));
  CHECK(refused["result"].IsNull());
  CHECK(std::string(refused["outcome"].GetString()) == "refused");
  CHECK(std::string(refused["error"].GetString()) == "edge e has a live session");
}

TEST_CASE("the console's files are compiled in, xterm.js among them", "[web][assets]") {
  const Asset* index = findAsset("index.html");
  REQUIRE(index != nullptr);
  CHECK(std::string(index->contentType) == "text/html; charset=utf-8");
  const std::string html(reinterpret_cast<const char*>(index->data), index->size);
  CHECK(html.find("<html") != std::string::npos);
  // No page may fetch anything from elsewhere at run time.
  for (const Asset* a = assetsBegin(); a != assetsEnd(); ++a) {
    const std::string path = a->path;
    if (path.rfind("vendor/", 0) == 0 || path == "openapi.json") {
      continue;
    }
    const std::string text(reinterpret_cast<const char*>(a->data), a->size);
    INFO(path);
    CHECK(text.find("http://") == std::string::npos);
    CHECK(text.find("https://") == std::string::npos);
  }
  const Asset* xterm = findAsset("vendor/xterm/xterm.js");
  REQUIRE(xterm != nullptr);
  CHECK(std::string(xterm->contentType) == "text/javascript; charset=utf-8");
  CHECK(xterm->size > 100000);
  CHECK(findAsset("vendor/xterm/xterm.css") != nullptr);
  CHECK(findAsset("vendor/xterm/addon-fit.js") != nullptr);
  CHECK(findAsset("../CMakeLists.txt") == nullptr);
}

TEST_CASE("the OpenAPI file describes exactly the server's routes", "[web][openapi]") {
  std::ifstream in(std::string(EDGELINK_SOURCE_DIR) + "/cloud-dispatcher/web/openapi.json");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto spec = parse(text.str());
  CHECK(std::string(spec["openapi"].GetString()).rfind("3.", 0) == 0);
  std::set<std::string> inSpec;
  for (const auto& path : spec["paths"].GetObject()) {
    for (const auto& op : path.value.GetObject()) {
      std::string method = op.name.GetString();
      for (char& c : method) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      }
      inSpec.insert(method + " " + path.name.GetString());
      INFO(method << " " << path.name.GetString());
      CHECK(op.value.HasMember("operationId"));
      CHECK(op.value["responses"].HasMember("200") != op.value["responses"].HasMember("204"));
    }
  }
  const std::set<std::string> served(apiRoutes().begin(), apiRoutes().end());
  CHECK(served.size() == apiRoutes().size());
  CHECK(inSpec == served);
  // The compiled-in copy (GET /api/v1/openapi.json) is this file.
  const Asset* embedded = findAsset("openapi.json");
  REQUIRE(embedded != nullptr);
  CHECK(std::string(reinterpret_cast<const char*>(embedded->data), embedded->size) == text.str());
}
