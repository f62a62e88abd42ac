// requests show, requests list.

#include <memory>

#include "cli/context.h"
#include "cli/queries.h"
#include "config/cli_config.h"
#include "core/time_format.h"

namespace edgelink::dispatcher {
namespace {

struct RequestsArgs {
  std::string id;
  std::string edge;
  std::string status;
  std::string type;
  std::string since;
};

int requestsShow(const Context& c, const RequestsArgs& a) {
  return c.withDatabase([&](pg::Connection& db) {
    auto records = showRequest(db, a.id, a.edge);
    if (records && records->empty()) {
      return c.fail(kExitNotFound, "no request or response with id " + a.id +
                                       (a.edge.empty() ? "" : " on edge " + a.edge));
    }
    return c.show(records, {}, true);
  });
}

int requestsList(const Context& c, const RequestsArgs& a) {
  RequestFilter f;
  f.edge = a.edge;
  f.status = a.status;
  f.type = a.type;
  f.limit = c.limit;
  if (!f.status.empty() && !isRequestState(f.status)) {
    return c.fail(
        kExitUsage,
        "--status: expected pending, succeeded, failed, stale or timeout, got '" + f.status + "'");
  }
  if (!a.since.empty()) {
    if (auto seconds = parseDurationSeconds(a.since)) {
      f.sinceMs = c.clock.wallMs() - *seconds * 1000;
    } else if (auto ms = parseRfc3339Ms(a.since)) {
      f.sinceMs = *ms;
    } else {
      return c.fail(
          kExitUsage,
          "--since: expected a duration (15m, 2h) or an RFC 3339 time, got '" + a.since + "'");
    }
  }
  return c.withDatabase([&](pg::Connection& db) {
    return c.show(listRequests(db, f), {{"edge_id", "EDGE"},
                                        {"id", "ID", 36},
                                        {"type", "TYPE"},
                                        {"state", "STATE"},
                                        {"late", "LATE"},
                                        {"status_code", "CODE"},
                                        {"sender", "SENDER", 20},
                                        {"sent_at", "SENT"},
                                        {"answered_at", "ANSWERED"}});
  });
}

}  // namespace

void addRequestsCommands(Commands& cmds) {
  Context& c = cmds.context();
  auto a = std::make_shared<RequestsArgs>();
  auto* requests = cmds.group("requests", "Show or list requests",
                              "cloud-dispatcher requests list --status timeout --since 1h");
  auto* show = cmds.add(
      "show", "One request with its answer (exit 6: not found)",
      "cloud-dispatcher requests show 7d1c5c6e-3f0e-4b7e-9a55-0b1f2e6f9a10 --json",
      [&c, a] { return requestsShow(c, *a); }, requests);
  show->add_option("ID", a->id, "Request id")->required();
  show->add_option("--edge", a->edge, "Only on this edge");
  auto* list = cmds.add(
      "list", "Requests, newest first",
      "cloud-dispatcher requests list --edge elevator-0042 --since 15m",
      [&c, a] { return requestsList(c, *a); }, requests);
  list->add_option("--edge", a->edge, "Only this edge");
  list->add_option("--status", a->status, "pending, succeeded, failed, stale or timeout");
  list->add_option("--type", a->type, "Only this request type");
  list->add_option("--since", a->since, "Sent since: a duration (15m) or RFC 3339 time");
  list->add_option("--limit", c.limit, "At most this many")->capture_default_str();
}

}  // namespace edgelink::dispatcher
