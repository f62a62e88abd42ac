#pragma once

// An stcp visitor's proof for frps's server plugin (pure): the printed visitor config carries it
// in frpc's `metadatas`, and the plugin's Login checks it, so that frps's token alone does not
// let a client pose as a session's visitor. The proof is derived from the session's stcp secret
// and is not the secret.

#include <string>
#include <string_view>

namespace edgelink::dispatcher {

/// The metadata keys (frpc `metadatas`) a visitor's login carries besides kFrpEdgeMetaKey.
inline constexpr const char* kFrpSessionMetaKey = "edgelink_session";
inline constexpr const char* kFrpProofMetaKey = "edgelink_proof";

/// RFC 4648 base64url without padding.
std::string base64Url(std::string_view bytes);

/// The visitor proof of stcp session `sessionId` (its decimal text, as in the metadata) on
/// `edgeId`, keyed with the session's stcp secret `secret`. Exactly:
///
///   key     = the bytes of `secret` as stored in sessions.stcp_secret (its 43 base64url
///             characters, ASCII; not decoded)
///   message = "edgelink-visitor-v1" LF <edge id> LF <session id in decimal>
///             (LF = one 0x0A byte; no trailing LF)
///   proof   = base64url, no padding, of HMAC-SHA256(key, message) (32 bytes: 43 characters)
///
/// e.g. secret "k", edge "e1", session 7: HMAC-SHA256("k", "edgelink-visitor-v1\ne1\n7").
std::string visitorProof(const std::string& secret, const std::string& edgeId,
                         const std::string& sessionId);

/// Whether `proof` is the visitor proof of that session: a constant-time comparison
/// (CRYPTO_memcmp) of equal-length texts; false for an empty secret.
bool visitorProofMatches(const std::string& proof, const std::string& secret,
                         const std::string& edgeId, const std::string& sessionId);

}  // namespace edgelink::dispatcher
