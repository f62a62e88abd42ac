#pragma once

// Signed answers (pure: no I/O). A response or event an edge produces carries its board's
// signature (security/signature.h); the dispatcher checks it against the key registered for that
// edge (`edges add --key`). What does not verify is stored flagged in rejected_messages and never
// changes a session or an edge. Edges with no registered key are applied as before, unless
// require-signed-answers is on; an edge with a key always needs a valid signature.

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "security/signature.h"

namespace edgelink::dispatcher {

/// What the ingest does with one answer (response or event).
struct AnswerVerdict {
  security::Verdict verdict = security::Verdict::kUnsigned;
  bool accepted = true;  ///< false: stored flagged, no effect
  Status status = Status::kOk;
  std::string reason;  ///< for people, when refused
};

/// Judges a verification: `key` is the edge's registered key (nullopt: none), `requireSigned`
/// the require-signed-answers setting.
AnswerVerdict judgeAnswer(const security::Verification& v, bool edgeHasKey, bool requireSigned);

/// The edge's registered key checked against a message's headers: a ring of one (or none).
security::Verification verifyWithEdgeKey(const std::optional<security::PublicKey>& key,
                                         std::string_view topic, std::string_view value,
                                         const security::FoundHeaders& headers);

/// Checks answers for the ingest (thread-safe; the writers' isolation path calls it too).
class SignatureCheck {
 public:
  virtual ~SignatureCheck() = default;
  virtual AnswerVerdict check(const std::string& edge, std::string_view topic,
                              std::string_view value,
                              const security::FoundHeaders& headers) const = 0;
  /// A request's signature against the keys trusted to sign requests (the audit trail names its
  /// key id when valid). None by default: a signed request is then unknown_key.
  virtual security::Verification checkRequest(std::string_view topic, std::string_view value,
                                              const security::FoundHeaders& headers) const {
    return security::KeyRing().verify(topic, value, headers);
  }
};

}  // namespace edgelink::dispatcher
