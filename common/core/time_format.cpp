#include "core/time_format.h"

#include <array>
#include <cstdio>

namespace edgelink {
namespace {

bool isLeap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned daysInMonth(int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> kDays = {31, 28, 31, 30, 31, 30,
                                                     31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

// Reads exactly n digits at text[pos...]; advances pos. Inlined, so each call's n is a constant
// (parseRfc3339Ms runs on every decoded message's timestamp).
[[gnu::always_inline]] inline bool digits(std::string_view text, size_t& pos, size_t n,
                                          int64_t& out) {
  if (pos + n > text.size()) {
    return false;
  }
  int64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = text[pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  pos += n;
  out = v;
  return true;
}

[[gnu::always_inline]] inline bool expect(std::string_view text, size_t& pos, char c) {
  if (pos < text.size() && text[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

}  // namespace

int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::optional<int64_t> parseRfc3339Ms(std::string_view t) {
  size_t p = 0;
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(t, p, 4, year) || !expect(t, p, '-') || !digits(t, p, 2, month) ||
      !expect(t, p, '-') || !digits(t, p, 2, day)) {
    return std::nullopt;
  }
  if (p >= t.size() || (t[p] != 'T' && t[p] != 't' && t[p] != ' ')) {
    return std::nullopt;
  }
  ++p;
  if (!digits(t, p, 2, hour) || !expect(t, p, ':') || !digits(t, p, 2, minute) ||
      !expect(t, p, ':') || !digits(t, p, 2, second)) {
    return std::nullopt;
  }
  int64_t millis = 0;
  if (p < t.size() && t[p] == '.') {
    ++p;
    size_t start = p;
    while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
      if (p - start < 3) {
        millis = millis * 10 + (t[p] - '0');
      }
      ++p;
    }
    size_t n = p - start;
    if (n == 0) {
      return std::nullopt;
    }
    for (size_t i = n; i < 3; ++i) {
      millis *= 10;
    }
  }
  int64_t offsetMin = 0;
  if (p < t.size() && (t[p] == 'Z' || t[p] == 'z')) {
    ++p;
  } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
    int sign = t[p] == '-' ? -1 : 1;
    ++p;
    int64_t oh = 0, om = 0;
    if (!digits(t, p, 2, oh) || !expect(t, p, ':') || !digits(t, p, 2, om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offsetMin = sign * (oh * 60 + om);
  } else {
    return std::nullopt;
  }
  if (p != t.size()) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, static_cast<unsigned>(month)) ||
      hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  if (second == 60) {  // leap second: clamp to the last millisecond of the minute
    second = 59;
    millis = 999;
  }
  int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offsetMin * 60;
  return secs * 1000 + millis;
}

std::string formatRfc3339Ms(int64_t epochMs) {
  int64_t secs = epochMs >= 0 ? epochMs / 1000 : (epochMs - 999) / 1000;
  int64_t ms = epochMs - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  // Howard Hinnant's civil_from_days.
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2 ? 1 : 0;
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                static_cast<long long>(y), m, d, static_cast<long long>(sod / 3600),
                static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60),
                static_cast<long long>(ms));
  return buf;
}

std::string formatDuration(int64_t seconds) {
  if (seconds < 0) {
    return "-" + formatDuration(-seconds);
  }
  int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60, s = seconds % 60;
  std::string out;
  if (d > 0) {
    out += std::to_string(d) + "d ";
  }
  if (d > 0 || h > 0) {
    out += std::to_string(h) + "h ";
  }
  if (d > 0 || h > 0 || m > 0) {
    out += std::to_string(m) + "m ";
  }
  out += std::to_string(s) + "s";
  return out;
}

std::optional<int64_t> parseDurationSeconds(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  int64_t total = 0;
  size_t p = 0;
  bool any = false;
  while (p < text.size()) {
    int64_t n = 0;
    size_t start = p;
    while (p < text.size() && text[p] >= '0' && text[p] <= '9') {
      if (n > 1'000'000'000) {
        return std::nullopt;
      }
      n = n * 10 + (text[p] - '0');
      ++p;
    }
    if (p == start) {
      return std::nullopt;
    }
    int64_t unit = 1;
    if (p < text.size()) {
      switch (text[p]) {
        case 's':
          unit = 1;
          break;
        case 'm':
          unit = 60;
          break;
        case 'h':
          unit = 3600;
          break;
        case 'd':
          unit = 86400;
          break;
        default:
          return std::nullopt;
      }
      ++p;
    } else if (any) {
      return std::nullopt;  // "1h30" is ambiguous
    }
    total += n * unit;
    any = true;
  }
  return total;
}

}  // namespace edgelink
