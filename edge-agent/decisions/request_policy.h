#pragma once

// Pure decisions about one incoming request, before anything is done: whether it is for this
// agent at all, whether it is too old (408) or dated too far ahead (400 naming both clocks),
// whether its type is known (404); and the error responses that say so.

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "envelope/bodies.h"
#include "envelope/envelope.h"

namespace edgelink::agent {

struct Policy {
  int64_t maxAgeMs = 600'000;
  int64_t maxSkewMs = 60'000;
  std::string sender = "edge_board";  ///< ours: requests we sent ourselves are not acted on
};

/// True for requests the agent answers: a request not sent by the agent itself.
bool isForUs(const envelope::Envelope& message, const Policy& policy);

/// True for the request types this agent handles.
bool isKnownRequestType(const std::string& type);

/// nullopt when the request's timestamp is acceptable; otherwise the response to send:
/// 408 when older than max age or past its own `expires_at` (not acted on; the earlier of the
/// two is the reason given, in the message and as `expired_by`), 400 when ahead of the edge's
/// clock by more than the tolerance (naming both clocks).
std::optional<envelope::Envelope> checkTimestamp(const envelope::Envelope& request,
                                                 const Policy& policy, int64_t nowMs);

/// A failure response: body {"error": ..., "field": ...} (schemas/bodies/responses/error.json),
/// with the other members of `body` (clock details, proxies) when given.
envelope::Envelope errorResponse(const envelope::Id& id, const std::string& type,
                                 const std::string& sender, int64_t nowMs, const Error& error,
                                 envelope::body::ErrorBody body = {});

}  // namespace edgelink::agent
