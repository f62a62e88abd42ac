#pragma once

// Standard base64 (RFC 4648 §4, with padding): keys and signatures travel in this form in Kafka
// headers and config files. Decoding is strict: no whitespace, no missing or extra padding.

#include <optional>
#include <string>
#include <string_view>

namespace edgelink::security {

std::string base64Encode(std::string_view bytes);
/// nullopt for anything that is not canonical base64.
std::optional<std::string> base64Decode(std::string_view text);

}  // namespace edgelink::security
