// audit list: the audit trail of sessions, newest first.

#include "cli/audit.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "cli/context.h"
#include "cli/queries.h"
#include "core/time_format.h"

namespace edgelink::dispatcher {

AuditActor operatorActor() {
  std::string user;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) {
    user = pw->pw_name;
  } else {
    user = "uid " + std::to_string(::geteuid());
  }
  const char* sudoUser = std::getenv("SUDO_USER");
  return cliActor(user, sudoUser != nullptr ? sudoUser : "");
}

AuditActor Context::auditActor() const {
  return actor ? *actor : operatorActor();
}

int auditedExchange(const Context& c, pg::Connection& db, Requester& requester,
                    const AuditEntry& audit, const std::string& bytes, int64_t waitSeconds) {
  const std::string id = audit.requestId.value_or("");
  if (auto r = recordAudit(db, audit, c.auditActor()); !r) {
    return c.fail(kExitDatabase, "recording the audit trail: " + r.error().describe());
  }
  return requester.exchange(audit.edgeId, id, bytes, waitSeconds, [&](const Error&) {
    (void)db.exec(
        "DELETE FROM session_audit WHERE edge_id = $1 AND request_id = $2 AND action = $3",
        {audit.edgeId, id, audit.action});
    return std::string("; the audit row was withdrawn");
  });
}

namespace {

struct AuditArgs {
  std::string edge;
  int64_t session = 0;
  std::string since;
};

int auditList(const Context& c, const AuditArgs& a) {
  if (!a.edge.empty()) {
    if (auto problem = edgeIdProblem(a.edge); !problem.empty()) {
      return c.fail(kExitUsage, problem);
    }
  }
  if (a.session < 0) {
    return c.fail(kExitUsage,
                  "--session: expected a session id (1 or more), got " + std::to_string(a.session));
  }
  std::optional<std::string> since;
  if (!a.since.empty()) {
    if (auto seconds = parseDurationSeconds(a.since)) {
      since = std::to_string(c.clock.wallMs() - *seconds * 1000);
    } else if (auto ms = parseRfc3339Ms(a.since)) {
      since = std::to_string(*ms);
    } else {
      return c.fail(kExitUsage,
                    "--since: expected a duration (15m, 2h, 7d) or an RFC 3339 time, "
                    "got '" +
                        a.since + "'");
    }
  }
  return c.withDatabase([&](pg::Connection& db) {
    auto rows = db.exec(
        "SELECT id, at, edge_id, session_id, request_id, action, actor, actor_kind, key_id,"
        " detail FROM session_audit WHERE ($1 = '' OR edge_id = $1)"
        " AND ($2::bigint = 0 OR session_id = $2::bigint)"
        " AND ($3::bigint IS NULL OR at >= to_timestamp($3::bigint / 1000.0))"
        " ORDER BY at DESC, id DESC LIMIT $4",
        {a.edge, std::to_string(a.session), since, std::to_string(c.limit)});
    Result<std::vector<Record>> records = rows ? Result<std::vector<Record>>(toRecords(*rows))
                                               : Result<std::vector<Record>>(rows.error());
    return c.show(records, {{"at", "AT"},
                            {"edge_id", "EDGE"},
                            {"session_id", "SESSION"},
                            {"action", "ACTION"},
                            {"actor", "ACTOR", 24},
                            {"actor_kind", "KIND"},
                            {"key_id", "KEY"},
                            {"request_id", "REQUEST", 36}});
  });
}

}  // namespace

void addAuditCommands(Commands& cmds) {
  Context& c = cmds.context();
  auto a = std::make_shared<AuditArgs>();
  auto* audit = cmds.group("audit", "The audit trail: who opened, extended and closed sessions",
                           "cloud-dispatcher audit list --edge elevator-0042 --since 7d");
  auto* list = cmds.add(
      "list", "Audit rows, newest first",
      "cloud-dispatcher audit list --edge elevator-0042 --session 42 --since 24h --json",
      [&c, a] { return auditList(c, *a); }, audit);
  list->add_option("--edge", a->edge, "Only this edge");
  list->add_option("--session", a->session, "Only this session id");
  list->add_option("--since", a->since, "At or after: a duration (24h, 7d) or RFC 3339 time");
  list->add_option("--limit", c.limit, "At most this many")->capture_default_str();
}

}  // namespace edgelink::dispatcher
