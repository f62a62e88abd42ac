// send: publish any request to an edge, optionally wait for its answer.

#include <rapidjson/document.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "cli/context.h"
#include "cli/requester.h"
#include "config/cli_config.h"

namespace edgelink::dispatcher {
namespace {

struct SendArgs {
  std::string edge;
  std::string type;
  std::string body = "{}";
  std::string description;
  int64_t wait = 0;
};

/// --body: JSON text or @file.
Result<std::string> bodyText(const std::string& body) {
  if (body.empty() || body[0] != '@') {
    return body;
  }
  std::ifstream in(body.substr(1));
  if (!in) {
    return Error(Status::kBadRequest, "--body: cannot read " + body.substr(1));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sendText(const SendArgs& a, const std::string& id, const Requester& requester,
                     int result, const Record& r) {
  const std::string what = "request " + id + " (" + a.type + ")";
  if (a.wait <= 0) {
    const Published& p = requester.published();
    return what + " published to " + p.topic + " [partition " + std::to_string(p.partition) +
           ", offset " + std::to_string(p.offset) + "]\n";
  }
  if (result == kExitTimeout && fieldText(r, "state") == "timeout") {
    return what + " to edge " + a.edge + ": timeout, no answer by its deadline " +
           shortTimestamp(fieldText(r, "deadline")) + " UTC; it expired at " +
           shortTimestamp(fieldText(r, "expires_at")) +
           " UTC, so the edge will not act on it (see `requests show " + id + "`)\n";
  }
  if (result == kExitTimeout) {
    return what + " to edge " + a.edge + ": no answer within " + std::to_string(a.wait) +
           " s (see `requests show " + id + "`)\n";
  }
  return what + " to edge " + a.edge + ": " + fieldText(r, "state") + " " +
         fieldText(r, "status_code") + " " + fieldText(r, "status") + "\n" +
         fieldText(r, "response_body") + "\n";
}

int send(const Context& c, const SendArgs& a) {
  if (auto problem = edgeIdProblem(a.edge); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  auto text = bodyText(a.body);
  if (!text) {
    return c.fail(kExitUsage, text.error().message);
  }
  rapidjson::Document body;
  body.Parse(text->c_str(), text->size());
  if (body.HasParseError() || !body.IsObject()) {
    return c.fail(kExitUsage, "--body: expected a JSON object (or @file holding one)");
  }
  const std::string id = envelope::Id::generate().str();
  auto req = buildRequest(c, id, a.type, a.description);
  req.body().CopyFrom(body, req.allocator());
  const std::string bytes = envelope::encode(req);
  envelope::Decoder decoder(envelope::Limits{c.options.maxMessageBytes, 32});
  if (auto check = decoder.decode(bytes); !check) {
    return c.fail(kExitUsage, "the request would not be valid: " + check.error().describe());
  }
  return c.withDatabase([&](pg::Connection& db) {
    Requester requester(c, db);
    int result = requester.exchange(a.edge, id, bytes, a.wait);
    if (result != kExitOk && result != kExitTimeout) {
      return result;
    }
    Record r;
    if (int failed = requester.readBack(a.edge, id, "the request", r); failed != kExitOk) {
      return failed;
    }
    result = outcomeCode(result, a.wait, r);
    c.showOne(r, sendText(a, id, requester, result, r));
    return result;
  });
}

}  // namespace

void addSendCommand(Commands& cmds) {
  const Context& c = cmds.context();
  auto a = std::make_shared<SendArgs>();
  auto* send = cmds.add("send", "Publish a request to an edge, optionally wait",
                        "cloud-dispatcher send --edge elevator-0042 --type system_info --wait 10s",
                        [&c, a] { return dispatcher::send(c, *a); });
  send->add_option("--edge", a->edge, "Edge id")->required();
  send->add_option("--type", a->type, "Request type (ping, system_info, frp_status, ...)")
      ->required();
  send->add_option("--body", a->body, "Request body: JSON object or @file")->capture_default_str();
  send->add_option("--description", a->description, "Free text carried in the request");
  config::durationDefault(
      send->add_option("--wait", a->wait, "How long to wait for the answer (0: do not wait)")
          ->transform(config::durationSeconds()),
      a->wait);
}

}  // namespace edgelink::dispatcher
