#include "domain/signatures.h"

namespace edgelink::dispatcher {

AnswerVerdict judgeAnswer(const security::Verification& v, bool edgeHasKey, bool requireSigned) {
  AnswerVerdict out;
  out.verdict = v.verdict;
  if (v.valid()) {
    return out;
  }
  if (!edgeHasKey && !requireSigned) {
    return out;  // applied as before keys existed; stored with its verdict
  }
  out.accepted = false;
  out.status = v.status();
  if (!edgeHasKey) {
    out.status = Status::kForbidden;
    out.reason = std::string(security::verdictName(v.verdict)) +
                 ": the edge has no registered key (edges add --key / edges set-key) and "
                 "require-signed-answers is on";
  } else {
    out.reason = std::string(security::verdictName(v.verdict)) + ": " +
                 (v.reason.empty() ? "not signed by the edge's registered key" : v.reason);
  }
  return out;
}

security::Verification verifyWithEdgeKey(const std::optional<security::PublicKey>& key,
                                         std::string_view topic, std::string_view value,
                                         const security::FoundHeaders& headers) {
  security::KeyRing ring;
  if (key) {
    ring.add(*key);
  }
  return ring.verify(topic, value, headers);
}

}  // namespace edgelink::dispatcher
