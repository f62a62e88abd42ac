#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgelink {

/// Parses an RFC 3339 date-time ("2026-11-21T08:00:00.000Z", "2026-11-21T16:00:00+08:00",
/// lower-case 't'/'z' and a space separator also accepted) into Unix epoch milliseconds.
/// Fractions beyond milliseconds are truncated; a leap second (:60) counts as :59.999.
/// Returns nullopt for anything that is not a valid date-time.
std::optional<int64_t> parseRfc3339Ms(std::string_view text);

/// Formats epoch milliseconds as RFC 3339 UTC with milliseconds: "2026-11-21T08:00:00.000Z".
std::string formatRfc3339Ms(int64_t epochMs);

/// Days since 1970-01-01 for a proleptic Gregorian date (month 1-12).
int64_t daysFromCivil(int64_t year, unsigned month, unsigned day);

/// "1h 2m 3s"-style rendering of a duration in seconds, for humans.
std::string formatDuration(int64_t seconds);

/// Parses "90", "90s", "15m", "2h", "1h30m", "1d" into seconds. nullopt when malformed.
std::optional<int64_t> parseDurationSeconds(std::string_view text);

}  // namespace edgelink
