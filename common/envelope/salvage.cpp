#include "envelope/salvage.h"

#include <algorithm>
#include <cstring>

#include "core/strings.h"
#include "core/time_format.h"
#include "envelope/utf8.h"

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

/// An escape JSON does not have (`\x`, `\u` with a non-hex digit): the string is invalid.
constexpr uint32_t kBadEscape = UINT32_MAX;

/// A JSON string's value as Scanner::readString decodes it: where it goes (nowhere while only
/// skipped), whether it is still strict JSON within its bound, and a high surrogate waiting for
/// its low half.
class StringValue {
 public:
  StringValue(std::string* out, size_t maxBytes) : out_(out), maxBytes_(maxBytes) {}

  /// A byte that stands for itself.
  void addRaw(char c) {
    if (pendingHigh_ != 0) {
      ok_ = false;
      pendingHigh_ = 0;
    }
    if (static_cast<unsigned char>(c) < 0x20) {
      ok_ = false;  // raw control characters (a raw newline, a NUL) are not JSON
    }
    if (keeping()) {
      out_->push_back(c);
    }
  }

  /// An escaped UTF-16 code unit (or kBadEscape): surrogates are paired, NUL is refused.
  void addEscaped(uint32_t unit) {
    if (unit == kBadEscape) {
      ok_ = false;
      return;
    }
    if (unit >= 0xD800 && unit <= 0xDBFF) {
      if (pendingHigh_ != 0) {
        ok_ = false;
      }
      pendingHigh_ = unit;
      return;
    }
    uint32_t cp = unit;
    if (unit >= 0xDC00 && unit <= 0xDFFF) {
      if (pendingHigh_ == 0) {
        ok_ = false;
        return;
      }
      cp = 0x10000 + ((pendingHigh_ - 0xD800) << 10) + (unit - 0xDC00);
      pendingHigh_ = 0;
    } else if (pendingHigh_ != 0) {
      ok_ = false;
      pendingHigh_ = 0;
    }
    if (cp == 0) {
      ok_ = false;
    }
    if (keeping()) {
      appendUtf8(*out_, cp);
    }
  }

  /// At the closing quote: whether the value is valid (UTF-8 included) and within its bound.
  bool finish() {
    if (pendingHigh_ != 0) {
      ok_ = false;
    }
    if (out_ != nullptr && ok_) {
      ok_ = out_->size() <= maxBytes_ &&
            invalidUtf8At(reinterpret_cast<const unsigned char*>(out_->data()), out_->size()) ==
                std::string::npos;
    }
    return ok_;
  }

 private:
  /// Whether the next character is kept: there is an `out`, the value is valid so far and
  /// within its bound (past it, the value becomes invalid).
  bool keeping() {
    if (out_ == nullptr || !ok_) {
      return false;
    }
    if (out_->size() > maxBytes_) {
      ok_ = false;
    }
    return ok_;
  }

  std::string* out_;
  size_t maxBytes_;
  bool ok_ = true;
  uint32_t pendingHigh_ = 0;
};

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
    StringValue value(out, maxBytes);
    while (!atEnd()) {
      const char c = s_[i_++];
      if (c == '"') {
        const bool ok = value.finish();
        if (valid != nullptr) {
          *valid = ok;
        }
        return true;
      }
      if (c != '\\') {
        value.addRaw(c);
        continue;
      }
      auto unit = readEscape();
      if (!unit) {
        return false;
      }
      value.addEscaped(*unit);
    }
    return false;
  }

  /// The escape after a backslash: the UTF-16 code unit it stands for, kBadEscape for one JSON
  /// does not have; nullopt where the input ends inside it.
  std::optional<uint32_t> readEscape() {
    if (atEnd()) {
      return std::nullopt;
    }
    const char e = s_[i_++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        return static_cast<unsigned char>(e);
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u':
        return readHex4();
      default:
        return kBadEscape;
    }
  }

  /// The four hex digits of a `\u` escape: their value, kBadEscape if one is not a hex digit;
  /// nullopt where the input ends first.
  std::optional<uint32_t> readHex4() {
    if (s_.size() - i_ < 4) {
      i_ = s_.size();
      return std::nullopt;
    }
    int v = 0;
    for (int k = 0; k < 4; ++k) {
      int h = hexDigitValue(s_[i_ + k]);
      v = h < 0 || v < 0 ? -1 : v * 16 + h;
    }
    i_ += 4;
    return v < 0 ? kBadEscape : static_cast<uint32_t>(v);
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

}  // namespace edgelink::envelope
