#pragma once

// UTF-8 as the wire needs it: validating what arrives, encoding decoded escapes.

#include <cstddef>
#include <cstdint>
#include <string>

namespace edgelink::envelope {

/// Offset of the first byte that is not well-formed UTF-8 (RFC 3629: no overlongs, no
/// surrogates, nothing above U+10FFFF), or npos.
size_t invalidUtf8At(const unsigned char* s, size_t n);

/// Appends code point `cp` (at most U+10FFFF, not a surrogate) to `out` as UTF-8.
void appendUtf8(std::string& out, uint32_t cp);

}  // namespace edgelink::envelope
