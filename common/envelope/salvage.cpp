#include "envelope/salvage.h"

#include <algorithm>
#include <cstring>

#include "core/time_format.h"

namespace edgelink::envelope {
namespace {

// Header strings longer than this are unreadable (the schemas allow far less); the scan still
// runs to the string's end, without keeping it.
constexpr size_t kMaxHeaderBytes = 4096;
constexpr size_t kMaxIdChars = 256;
constexpr size_t kMaxKeyBytes = 32;

enum Field { kId, kSender, kType, kTimestamp, kFieldCount };

int fieldOf(const std::string& key) {
  static const char* const kNames[kFieldCount] = {"id", "sender", "type", "timestamp"};
  for (int f = 0; f < kFieldCount; ++f) {
    if (key == kNames[f]) {
      return f;
    }
  }
  return -1;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

/// A JSON integer token with no sign, fraction or exponent that fits in uint64.
std::optional<uint64_t> plainUnsigned(std::string_view t) {
  if (t.empty() || t.size() > 20 || (t.size() > 1 && t[0] == '0')) {
    return std::nullopt;
  }
  uint64_t v = 0;
  for (char c : t) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    v = v * 10 + digit;
  }
  return v;
}

size_t codePoints(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

/// One forward pass. Every method leaves `i_` after what it consumed; false means the input
/// ended or broke there (what was read so far stays).
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  Salvaged run() {
    Salvaged out;
    skipWs();
    if (!take('{')) {
      return out;
    }
    bool kindSeen = false;
    for (;;) {
      skipWs();
      if (atEnd() || peek() == '}') {
        break;
      }
      std::string key;
      bool keyValid = false;
      if (peek() != '"' || !readString(&key, kMaxKeyBytes, &keyValid)) {
        break;
      }
      skipWs();
      if (!take(':')) {
        break;
      }
      skipWs();
      int kind = keyValid ? kindOf(key) : -1;
      bool ok = true;
      if (kind >= 0) {
        if (kindSeen) {
          return Salvaged{};  // two kinds: whose header would it be?
        }
        kindSeen = true;
        out.kind = static_cast<Kind>(kind);
        ok = !atEnd() && peek() == '{' ? readHeader(out) : skipValue();
      } else {
        ok = skipValue();
      }
      skipWs();
      if (!ok || !take(',')) {
        break;
      }
    }
    return out;
  }

 private:
  static int kindOf(const std::string& key) {
    if (key == "request") {
      return static_cast<int>(Kind::kRequest);
    }
    if (key == "response") {
      return static_cast<int>(Kind::kResponse);
    }
    if (key == "event") {
      return static_cast<int>(Kind::kEvent);
    }
    return -1;
  }

  bool atEnd() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }
  bool take(char c) {
    if (!atEnd() && peek() == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void skipWs() {
    while (!atEnd() && (peek() == ' ' || peek() == '\t' || peek() == '\n' || peek() == '\r')) {
      ++i_;
    }
  }

  /// The kind object: header fields captured, everything else skipped.
  bool readHeader(Salvaged& out) {
    ++i_;  // '{'
    bool seen[kFieldCount] = {};
    bool ambiguous[kFieldCount] = {};
    auto finish = [&](bool ok) {
      if (ambiguous[kId]) {
        out.id.reset();
      }
      if (ambiguous[kSender]) {
        out.sender.clear();
      }
      if (ambiguous[kType]) {
        out.type.clear();
      }
      if (ambiguous[kTimestamp]) {
        out.timestampMs.reset();
      }
      return ok;
    };
    for (;;) {
      skipWs();
      if (take('}')) {
        return finish(true);
      }
      std::string key;
      bool keyValid = false;
      if (atEnd() || peek() != '"' || !readString(&key, kMaxKeyBytes, &keyValid)) {
        return finish(false);
      }
      skipWs();
      if (!take(':')) {
        return finish(false);
      }
      skipWs();
      const int field = keyValid ? fieldOf(key) : -1;
      bool ok;
      if (field < 0) {
        ok = skipValue();
      } else if (seen[field]) {
        ambiguous[field] = true;
        ok = skipValue();
      } else {
        seen[field] = true;
        ok = readField(field, out);
      }
      skipWs();
      if (!ok) {
        return finish(false);
      }
      if (take(',')) {
        continue;
      }
      return finish(take('}'));
    }
  }

  bool readField(int field, Salvaged& out) {
    if (atEnd()) {
      return false;
    }
    if (peek() == '"') {
      std::string value;
      bool valid = false;
      if (!readString(&value, kMaxHeaderBytes, &valid)) {
        return false;
      }
      if (!valid || value.empty()) {
        return true;
      }
      switch (field) {
        case kId:
          if (codePoints(value) <= kMaxIdChars) {
            out.id = Id::text(std::move(value));
          }
          break;
        case kSender:
          out.sender = std::move(value);
          break;
        case kType:
          out.type = std::move(value);
          break;
        case kTimestamp:
          out.timestampMs = parseRfc3339Ms(value);
          break;
        default:
          break;
      }
      return true;
    }
    if (peek() == '{' || peek() == '[') {
      return skipValue();
    }
    const size_t start = i_;
    if (!skipScalar()) {
      return false;
    }
    auto n = plainUnsigned(s_.substr(start, i_ - start));
    if (n && field == kId) {
      out.id = Id::number(*n);
    } else if (n && field == kTimestamp && *n <= static_cast<uint64_t>(INT64_MAX)) {
      out.timestampMs = static_cast<int64_t>(*n);
    }
    return true;
  }

  /// A string at '"'. With `out`, its decoded value (up to `maxBytes`) and whether it is strict
  /// JSON, valid UTF-8 without NUL, and within the bound; without, only skipped.
  bool readString(std::string* out, size_t maxBytes, bool* valid) {
    ++i_;  // '"'
    bool ok = true;
    uint32_t pendingHigh = 0;  // a high surrogate waiting for its low half
    auto put = [&](uint32_t cp) {
      if (out != nullptr && ok) {
        if (out->size() > maxBytes) {
          ok = false;
        } else {
          appendUtf8(*out, cp);
        }
      }
    };
    while (!atEnd()) {
      const char c = s_[i_++];
      if (c == '"') {
        if (pendingHigh != 0) {
          ok = false;
        }
        if (out != nullptr && ok) {
          ok = out->size() <= maxBytes &&
               invalidUtf8At(reinterpret_cast<const unsigned char*>(out->data()), out->size()) ==
                   std::string::npos;
        }
        if (valid != nullptr) {
          *valid = ok;
        }
        return true;
      }
      if (c == '\\') {
        if (atEnd()) {
          return false;
        }
        const char e = s_[i_++];
        uint32_t cp = 0;
        switch (e) {
          case '"':
          case '\\':
          case '/':
            cp = static_cast<unsigned char>(e);
            break;
          case 'b':
            cp = '\b';
            break;
          case 'f':
            cp = '\f';
            break;
          case 'n':
            cp = '\n';
            break;
          case 'r':
            cp = '\r';
            break;
          case 't':
            cp = '\t';
            break;
          case 'u': {
            if (s_.size() - i_ < 4) {
              i_ = s_.size();
              return false;
            }
            int v = 0;
            for (int k = 0; k < 4; ++k) {
              int h = hexValue(s_[i_ + k]);
              v = h < 0 || v < 0 ? -1 : v * 16 + h;
            }
            i_ += 4;
            if (v < 0) {
              ok = false;
              continue;
            }
            cp = static_cast<uint32_t>(v);
            break;
          }
          default:
            ok = false;
            continue;
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (pendingHigh != 0) {
            ok = false;
          }
          pendingHigh = cp;
          continue;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
          if (pendingHigh == 0) {
            ok = false;
            continue;
          }
          cp = 0x10000 + ((pendingHigh - 0xD800) << 10) + (cp - 0xDC00);
          pendingHigh = 0;
        } else if (pendingHigh != 0) {
          ok = false;
          pendingHigh = 0;
        }
        if (cp == 0) {
          ok = false;
        }
        put(cp);
        continue;
      }
      if (pendingHigh != 0) {
        ok = false;
        pendingHigh = 0;
      }
      if (static_cast<unsigned char>(c) < 0x20) {
        ok = false;  // raw control characters (a raw newline, a NUL) are not JSON
      }
      if (out != nullptr && ok) {
        if (out->size() > maxBytes) {
          ok = false;
        } else {
          out->push_back(c);
        }
      }
    }
    return false;
  }

  /// A number or literal, leniently: up to the next delimiter.
  bool skipScalar() {
    const size_t start = i_;
    while (!atEnd()) {
      const char c = peek();
      if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' || c == '\r' ||
          c == '"' || c == '{' || c == '[' || c == ':') {
        break;
      }
      ++i_;
    }
    return i_ > start;
  }

  /// Any value: containers by counting brackets (no stack, so any depth), strings to their end.
  bool skipValue() {
    if (atEnd()) {
      return false;
    }
    if (peek() == '"') {
      return readString(nullptr, 0, nullptr);
    }
    if (peek() != '{' && peek() != '[') {
      return skipScalar();
    }
    uint64_t depth = 0;
    while (!atEnd()) {
      const char c = peek();
      if (c == '"') {
        if (!readString(nullptr, 0, nullptr)) {
          return false;
        }
        continue;
      }
      ++i_;
      if (c == '{' || c == '[') {
        ++depth;
      } else if ((c == '}' || c == ']') && --depth == 0) {
        return true;
      }
    }
    return false;
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

Salvaged salvageHeader(std::string_view bytes) {
  return Scanner(bytes).run();
}

size_t invalidUtf8At(const unsigned char* s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t word;
      std::memcpy(&word, s + i, 8);
      if ((word & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) {
        lo = 0xA0;
      }
      if (c == 0xED) {
        hi = 0x9F;
      }
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) {
        lo = 0x90;
      }
      if (c == 0xF4) {
        hi = 0x8F;
      }
    } else {
      return i;
    }
    if (i + len > n || s[i + 1] < lo || s[i + 1] > hi) {
      return i;
    }
    for (size_t k = 2; k < len; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) {
        return i;
      }
    }
    i += len;
  }
  return std::string::npos;
}

}  // namespace edgelink::envelope
