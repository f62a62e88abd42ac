#include "frpc_format.h"

#include <cstdint>

namespace edgelink::agent {
namespace {

/// Length of the UTF-8 sequence starting at s[i] (0 when invalid), rejecting overlong forms,
/// surrogates and code points above U+10FFFF.
size_t utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) {
    return 1;
  }
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

bool plainIniChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F;
}

}  // namespace

const char* formatName(FrpcFormat format) {
  return format == FrpcFormat::kToml ? "toml" : "ini";
}

VoidResult checkFrpcString(std::string_view value, FrpcFormat format) {
  for (size_t i = 0; i < value.size();) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7F) {
      return Error(Status::kInternal,
                   "contains a control character (line breaks and the like cannot be written "
                   "into an frpc config)");
    }
    size_t n = utf8Length(value, i);
    if (n == 0) {
      return Error(Status::kInternal, "is not valid UTF-8");
    }
    i += n;
  }
  if (value.find("{{") != std::string_view::npos) {
    return Error(Status::kInternal,
                 "contains \"{{\", which frp would read as a Go template action");
  }
  if (format == FrpcFormat::kIni && value.find("%(") != std::string_view::npos) {
    return Error(Status::kInternal,
                 "contains \"%(\", which frp's INI parser would read as a value reference");
  }
  return {};
}

std::string tomlString(std::string_view value) {
  std::string out = "\"";
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string iniValue(std::string_view value) {
  // go-ini (as frp calls it) reads a value by trimming spaces, taking `...` and """...""" up to
  // their last closing mark verbatim, joining a line ending in '\' with the next, and
  // stripping one pair of surrounding quotes. A plain value avoids all of these; anything else
  // goes in backquotes, which go-ini returns verbatim up to the last backquote on the line.
  bool plain = !value.empty() && plainIniChar(value.front()) && plainIniChar(value.back()) &&
               value.front() != '`' && value.front() != '"' && value.front() != '\'' &&
               value.back() != '\\' && value.back() != '"' && value.back() != '\'';
  if (plain) {
    for (char c : value) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        plain = false;  // unicode spaces would be trimmed; quote anything non-ASCII
        break;
      }
    }
  }
  if (plain || value.empty()) {
    return std::string(value);
  }
  return "`" + std::string(value) + "`";
}

}  // namespace edgelink::agent
