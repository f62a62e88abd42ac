#pragma once

// The decoder's steps (private to envelope/): the guard between RapidJSON's reader and the
// document, the header found in one pass, and the steps Decoder::decode runs in order -- parse
// in place, find the kind, read the canonical header, normalise the legacy body shapes.

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "envelope/envelope.h"

namespace edgelink::envelope::detail {

using rapidjson::Document;
using rapidjson::SizeType;
using rapidjson::Value;

// Recursive (not iterative) parsing is safe: GuardHandler stops it at maxDepth. UTF-8 is checked
// up front, faster than per string.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag | rapidjson::kParseStopWhenDoneFlag;
constexpr unsigned kMaxDepthCap = 512;
constexpr size_t kMaxIdChars = 256;

// The parse stack's memory (RapidJSON's Document allocates its stack on every parse, grows it
// by realloc and frees it when done): one buffer per thread, kept between parses. A second
// stack in use at once on the same thread (not done by the decoder) falls back to malloc.
class ParseStackAllocator {
 public:
  static const bool kNeedFree = true;
  void* Malloc(size_t size);
  void* Realloc(void* p, size_t oldSize, size_t newSize);
  static void Free(void* p);
  /// The one instance documents share (it holds no state: the buffer is per thread).
  static ParseStackAllocator& shared();
};

/// A decoded envelope's DOM: values as rapidjson::Document's, parse stack from the buffer above.
using ParsedDocument =
    rapidjson::GenericDocument<rapidjson::UTF8<>, rapidjson::MemoryPoolAllocator<>,
                               ParseStackAllocator>;

// Sits between the reader and the document: bounds nesting, refuses NUL characters (which
// PostgreSQL text/jsonb cannot store and which no field of the protocol needs) and lone low
// surrogates (RapidJSON 1.1.0 turns a "\udc00" with no high half before it into the invalid
// UTF-8 bytes ED B0 80 instead of failing). Both can only come from \u escapes, so the checks
// run only when the input holds such an escape.
class GuardHandler {
 public:
  enum class Failure { kNone, kTooDeep, kNul, kLoneSurrogate };

  GuardHandler(ParsedDocument& doc, unsigned maxDepth, bool checkNul, bool checkSurrogates)
      : doc_(doc), maxDepth_(maxDepth), checkNul_(checkNul), checkSurrogates_(checkSurrogates) {}

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, SizeType n, bool copy) { return doc_.RawNumber(s, n, copy); }
  bool String(const char* s, SizeType n, bool copy) {
    return checkNul(s, n) && doc_.String(s, n, copy);
  }
  bool Key(const char* s, SizeType n, bool copy) { return checkNul(s, n) && doc_.Key(s, n, copy); }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(SizeType n) {
    --depth_;
    return doc_.EndObject(n);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(SizeType n) {
    --depth_;
    return doc_.EndArray(n);
  }

  Failure failure() const { return failure_; }

 private:
  bool enter() {
    if (++depth_ > maxDepth_) {
      failure_ = Failure::kTooDeep;
      return false;
    }
    return true;
  }
  bool checkNul(const char* s, SizeType n) {
    if (checkNul_ && std::memchr(s, 0, n) != nullptr) {
      failure_ = Failure::kNul;
      return false;
    }
    if (checkSurrogates_) {
      // An encoded surrogate is ED A0..BF xx; valid input (checked up front) has none.
      for (const char* p = static_cast<const char*>(std::memchr(s, '\xED', n)); p != nullptr;
           p = static_cast<const char*>(std::memchr(p + 1, '\xED', n - (p + 1 - s)))) {
        if (p + 1 < s + n && static_cast<unsigned char>(p[1]) >= 0xA0) {
          failure_ = Failure::kLoneSurrogate;
          return false;
        }
      }
    }
    return true;
  }

  ParsedDocument& doc_;
  unsigned maxDepth_;
  bool checkNul_;
  bool checkSurrogates_;
  unsigned depth_ = 0;
  Failure failure_ = Failure::kNone;
};

size_t countCodePoints(const char* s, size_t n);
/// An id as the wire allows it: a non-empty string of at most kMaxIdChars characters or a
/// non-negative integer.
std::optional<Id> readId(const Value& v);

inline bool keyIs(const Value& name, const char* key, size_t len) {
  return name.GetStringLength() == len && std::memcmp(name.GetString(), key, len) == 0;
}

inline std::string stringOf(const Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

// Pointers to the header members of a kind object, found in one pass.
struct Header {
  const Value* id = nullptr;
  const Value* sender = nullptr;
  const Value* timestamp = nullptr;
  const Value* expiresAt = nullptr;
  const Value* recipient = nullptr;
  const Value* description = nullptr;
  const Value* type = nullptr;
  const Value* code = nullptr;
  const Value* status = nullptr;
  Value* body = nullptr;
  Value::MemberIterator actions;
  bool hasActions = false;

  explicit Header(Value& inner);
};

/// "request", "response", "event".
const std::string& kindPrefix(Kind kind);

/// Parses `bytes`' copy in `text` into `doc` in place, through the guard (depth, NUL, lone
/// surrogates), then allows only whitespace after the value. On failure: why, for humans.
std::optional<std::string> parseInPlace(rapidjson::Reader& reader, unsigned maxDepth,
                                        std::string_view bytes, char* text, ParsedDocument& doc);
/// The one member of request, response, event: its kind and value.
Result<std::pair<Kind, Value*>, DecodeError> findKind(ParsedDocument& doc);
/// A failure once the header is found, keeping whatever of it can be read (so a request can
/// still be answered).
DecodeError headerError(Kind kind, const Header& h, Status status, std::string field,
                        std::string message);
/// The canonical header into `env` (the kind's schema guaranteed presence and types).
std::optional<DecodeError> readHeader(Envelope& env, const Header& h, Kind kind);
/// An empty body where there is none; for change_frp_client_config requests the legacy shapes
/// (a one-element array, actions beside the body) made canonical.
std::optional<DecodeError> normaliseBody(const Envelope& env, Value& inner, Header& h,
                                         Document::AllocatorType& alloc);

}  // namespace edgelink::envelope::detail
