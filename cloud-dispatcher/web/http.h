#pragma once

// The web console's HTTP pieces that need no socket (unit-tested): query strings, cookies, the
// paths of /api/v1, the CLI's exit codes as HTTP statuses, the security headers every answer
// carries, and JSON error bodies.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgelink::dispatcher::web {

/// Percent-decoding ('+' is a space in query strings). nullopt: a bad escape, or a NUL byte.
std::optional<std::string> percentDecode(std::string_view text, bool plusIsSpace);

/// "a=1&b=x%20y": the last value wins for a repeated name. Error (400) names the bad parameter.
Result<std::map<std::string, std::string>> parseQuery(std::string_view query);

/// The value of cookie `name` in a Cookie header ("" when absent).
std::string cookieValue(std::string_view header, std::string_view name);

/// The segments of a path under a prefix: "/api/v1/edges/x/requests" under "/api/v1" gives
/// {"edges", "x", "requests"}; each segment percent-decoded unless `decode` is false (civetweb
/// hands handlers a path it decoded already: decoding again would turn "%2541" into "A").
/// nullopt: not under it, or a segment that does not decode, is empty, "." or "..".
std::optional<std::vector<std::string>> pathSegments(std::string_view path, std::string_view prefix,
                                                     bool decode = true);

/// The CLI's exit codes (cli/render.h) as HTTP statuses: 0 200, 1 409, 2 400, 3 504, 4 and 5
/// 503, 6 404, anything else 500.
int httpStatusForExit(int exitCode);
/// The CLI's exit codes as words: ok, refused, usage, timeout, kafka, database, not_found.
const char* outcomeForExit(int exitCode);

/// {"error": message}.
std::string errorJson(const std::string& message);

/// The headers every answer of the console carries (CSP: this origin only; no framing; no
/// sniffing; no referrer), each line ending in CRLF.
const char* securityHeaders();

/// An integer parameter within [min, max]; `fallback` when absent. Error (400) names it.
Result<int64_t> intParam(const std::map<std::string, std::string>& query, const std::string& name,
                         int64_t fallback, int64_t min, int64_t max);

/// Whether an Origin header (as browsers send it: scheme://host[:port]) names the same host as
/// the Host header. An absent Origin is a non-browser client: true.
bool sameOrigin(std::string_view origin, std::string_view host);

}  // namespace edgelink::dispatcher::web
