#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgelink {

/// Splits on every occurrence of `sep` (empty pieces kept).
std::vector<std::string> split(std::string_view text, char sep);

/// Removes leading and trailing spaces, tabs, CR and LF.
std::string_view trim(std::string_view text);

/// Joins with `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

/// Strict decimal integer parsing: the whole text, optional leading '-', no spaces, no overflow.
std::optional<int64_t> parseInt64(std::string_view text);
std::optional<uint64_t> parseUint64(std::string_view text);

/// Splits "key=value" at the first '='. nullopt when there is no '=' or the key is empty.
std::optional<std::pair<std::string, std::string>> splitKeyValue(std::string_view text);

/// Parses "host:port" (host may be "[v6]"). nullopt when malformed or the port is not 1-65535.
std::optional<std::pair<std::string, uint16_t>> parseHostPort(std::string_view text);

/// The value of a hexadecimal digit (either case); -1 when `c` is not one.
int hexDigitValue(char c);

/// Lowercase hexadecimal of the bytes, two digits each.
std::string toHex(std::string_view bytes);

/// True when `key` names something secret (password, secret, token, key, sasl...): its value
/// must never be logged.
bool isSecretKey(std::string_view key);

/// Renders `value` for a log line, masking it when `key` is secret.
std::string maskIfSecret(std::string_view key, std::string_view value);

}  // namespace edgelink
