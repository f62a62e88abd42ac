#pragma once

// The audit trail of sessions (table session_audit, docs/DISPATCHER.md "Audit trail"): who
// opened, extended and closed each session. Actors: the CLI's operator (kind cli, its OS user),
// a web backend's request (signed_request with the key id when its signature verified against a
// trusted key, unsigned_request otherwise, the verdict in detail.signature) and the dispatcher
// itself (system: expiry, the sweeper, answers and events ending a session). Rows are written in
// the transaction that changes the session; a request id adds one row per action at most.

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"
#include "db/pg.h"
#include "security/signature.h"

namespace edgelink::dispatcher {

namespace audit_action {
inline constexpr const char* kOpen = "open";
inline constexpr const char* kExtend = "extend";
inline constexpr const char* kClose = "close";
inline constexpr const char* kExpire = "expire";  ///< the sweeper ended it (expired, no_answer)
inline constexpr const char* kEnd = "end";        ///< ended by an answer, an event, a replacement
}  // namespace audit_action

struct AuditActor {
  std::string name;
  std::string kind;          ///< cli, signed_request, unsigned_request, system, web
  std::string keyId;         ///< signed_request only: the verified key id
  std::string signature;     ///< requests: the verdict (valid, unsigned, unknown_key, ...)
  std::string claimedKeyId;  ///< unverified requests: the key id their header named
};

/// The dispatcher itself ("dispatcher", system).
AuditActor systemActor();
/// The CLI's operator: `user` (the effective OS user), "alice (sudo root)" when run by sudo
/// (`sudoUser`: $SUDO_USER, empty when unset or the same user).
AuditActor cliActor(const std::string& user, const std::string& sudoUser);
/// A web console user (kind web, web/accounts.h).
AuditActor webActor(const std::string& user);
/// A request's sender: signed_request with its key id only when `v` is valid.
AuditActor requestActor(const std::string& sender, const security::Verification& v);

/// What the row's detail holds (empty members are left out).
struct AuditDetail {
  std::optional<std::map<std::string, int>> services;
  std::optional<int64_t> autoStopSeconds;
  std::string mode;    ///< tcp / stcp
  std::string state;   ///< an ended session's state
  std::string reason;  ///< an ended session's end_reason
  std::string note;
};
/// The detail as compact JSON, with the actor's signature verdict (and a claimed but unverified
/// key id) for requests.
std::string auditDetailJson(const AuditDetail& detail, const AuditActor& actor);

struct AuditEntry {
  std::string edgeId;
  std::optional<int64_t> sessionId;
  std::optional<std::string> requestId;
  std::string action;
  AuditDetail detail;
};

/// Inserts one row (ON CONFLICT DO NOTHING: a request id already recorded for this action adds
/// none). Runs in the caller's transaction.
VoidResult recordAudit(pg::Connection& db, const AuditEntry& entry, const AuditActor& actor);

/// Deletes at most `limit` rows older than `retentionSeconds` from session_audit, and as many
/// from web_audit (the console's trail); returns how many.
Result<int64_t> pruneAudit(pg::Connection& db, int64_t retentionSeconds, int64_t limit);
inline constexpr int64_t kAuditPruneBatch = 10000;

}  // namespace edgelink::dispatcher
