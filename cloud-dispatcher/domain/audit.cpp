#include "domain/audit.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace edgelink::dispatcher {

AuditActor systemActor() {
  return AuditActor{"dispatcher", "system", "", "", ""};
}

AuditActor cliActor(const std::string& user, const std::string& sudoUser) {
  AuditActor a{user, "cli", "", "", ""};
  if (!sudoUser.empty() && sudoUser != user) {
    a.name = sudoUser + " (sudo " + user + ")";
  }
  return a;
}

AuditActor webActor(const std::string& user) {
  return AuditActor{user, "web", "", "", ""};
}

AuditActor requestActor(const std::string& sender, const security::Verification& v) {
  AuditActor a{sender, v.valid() ? "signed_request" : "unsigned_request", "",
               security::verdictName(v.verdict), ""};
  if (v.valid()) {
    a.keyId = v.keyId;
  } else {
    a.claimedKeyId = v.keyId;
  }
  return a;
}

std::string auditDetailJson(const AuditDetail& detail, const AuditActor& actor) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& al = d.GetAllocator();
  auto addText = [&](const char* name, const std::string& value) {
    if (!value.empty()) {
      d.AddMember(rapidjson::StringRef(name), rapidjson::Value(value.c_str(), al), al);
    }
  };
  if (detail.services) {
    rapidjson::Value s(rapidjson::kObjectType);
    for (const auto& [name, port] : *detail.services) {
      s.AddMember(rapidjson::Value(name.c_str(), al), rapidjson::Value(port), al);
    }
    d.AddMember("services", s, al);
  }
  if (detail.autoStopSeconds) {
    d.AddMember("auto_stop_s", *detail.autoStopSeconds, al);
  }
  addText("mode", detail.mode);
  addText("state", detail.state);
  addText("reason", detail.reason);
  addText("note", detail.note);
  addText("signature", actor.signature);
  addText("claimed_key_id", actor.claimedKeyId);
  rapidjson::StringBuffer out;
  rapidjson::Writer<rapidjson::StringBuffer> w(out);
  d.Accept(w);
  return std::string(out.GetString(), out.GetSize());
}

VoidResult recordAudit(pg::Connection& db, const AuditEntry& e, const AuditActor& actor) {
  auto r = db.exec(
      "INSERT INTO session_audit (edge_id, session_id, request_id, action, actor, actor_kind,"
      " key_id, detail) VALUES ($1, $2::bigint, $3, $4, $5, $6, NULLIF($7, ''), $8::jsonb)"
      " ON CONFLICT DO NOTHING",
      {e.edgeId,
       e.sessionId ? std::optional<std::string>(std::to_string(*e.sessionId)) : std::nullopt,
       e.requestId, e.action, actor.name, actor.kind, actor.keyId,
       auditDetailJson(e.detail, actor)});
  if (!r) {
    return r.error();
  }
  return {};
}

Result<int64_t> pruneAudit(pg::Connection& db, int64_t retentionSeconds, int64_t limit) {
  auto r = db.exec(
      "DELETE FROM session_audit WHERE id IN (SELECT id FROM session_audit"
      " WHERE at < now() - make_interval(secs => $1::double precision) ORDER BY at LIMIT $2)",
      {std::to_string(retentionSeconds), std::to_string(limit)});
  if (!r) {
    return r.error();
  }
  // The web console's trail (logins, its changes, terminals) is kept as long.
  auto web = db.exec(
      "DELETE FROM web_audit WHERE id IN (SELECT id FROM web_audit"
      " WHERE at < now() - make_interval(secs => $1::double precision) ORDER BY at LIMIT $2)",
      {std::to_string(retentionSeconds), std::to_string(limit)});
  if (!web) {
    return web.error();
  }
  return r->affected() + web->affected();
}

}  // namespace edgelink::dispatcher
