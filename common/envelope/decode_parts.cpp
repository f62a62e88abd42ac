#include "envelope/decode_parts.h"

#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/time_format.h"
#include "envelope/types.h"
#include "jsonschema/json_util.h"

namespace edgelink::envelope::detail {

namespace {

struct ParseStackBuffer {
  char* data = nullptr;
  size_t capacity = 0;
  bool inUse = false;
  ~ParseStackBuffer() { std::free(data); }
};

thread_local ParseStackBuffer parseStack;

}  // namespace

void* ParseStackAllocator::Malloc(size_t size) {
  ParseStackBuffer& b = parseStack;
  if (b.inUse || size == 0) {
    return size == 0 ? nullptr : std::malloc(size);
  }
  if (size > b.capacity) {
    std::free(b.data);
    b.data = static_cast<char*>(std::malloc(size));
    if (b.data == nullptr) {
      b.capacity = 0;
      return nullptr;
    }
    b.capacity = size;
  }
  b.inUse = true;
  return b.data;
}

void* ParseStackAllocator::Realloc(void* p, size_t oldSize, size_t newSize) {
  ParseStackBuffer& b = parseStack;
  if (p == nullptr) {
    return Malloc(newSize);
  }
  if (p != b.data) {
    if (newSize == 0) {
      std::free(p);
      return nullptr;
    }
    return std::realloc(p, newSize);
  }
  if (newSize == 0) {
    b.inUse = false;
    return nullptr;
  }
  if (newSize > b.capacity) {
    char* grown = static_cast<char*>(std::malloc(newSize));
    if (grown == nullptr) {
      return nullptr;
    }
    std::memcpy(grown, b.data, std::min(oldSize, newSize));
    std::free(b.data);
    b.data = grown;
    b.capacity = newSize;
  }
  return b.data;
}

void ParseStackAllocator::Free(void* p) {
  ParseStackBuffer& b = parseStack;
  if (p != nullptr && p == b.data) {
    b.inUse = false;
  } else {
    std::free(p);
  }
}

ParseStackAllocator& ParseStackAllocator::shared() {
  static ParseStackAllocator instance;
  return instance;
}

size_t countCodePoints(const char* s, size_t n) {
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      ++count;
    }
  }
  return count;
}

std::optional<Id> readId(const Value& v) {
  if (v.IsString() && v.GetStringLength() > 0 &&
      (v.GetStringLength() <= kMaxIdChars ||
       countCodePoints(v.GetString(), v.GetStringLength()) <= kMaxIdChars)) {
    return Id::text(std::string(v.GetString(), v.GetStringLength()));
  }
  if (v.IsUint64()) {
    return Id::number(v.GetUint64());
  }
  return std::nullopt;
}

Header::Header(Value& inner) {
  if (!inner.IsObject()) {
    return;
  }
  for (auto m = inner.MemberBegin(); m != inner.MemberEnd(); ++m) {
    const Value& n = m->name;
    switch (n.GetStringLength()) {
      case 2:
        if (keyIs(n, "id", 2))
          id = &m->value;
        break;
      case 4:
        if (keyIs(n, "type", 4))
          type = &m->value;
        if (keyIs(n, "body", 4))
          body = &m->value;
        break;
      case 6:
        if (keyIs(n, "sender", 6))
          sender = &m->value;
        break;
      case 7:
        if (keyIs(n, "actions", 7)) {
          actions = m;
          hasActions = true;
        }
        break;
      case 9:
        if (keyIs(n, "timestamp", 9))
          timestamp = &m->value;
        else if (keyIs(n, "recipient", 9))
          recipient = &m->value;
        break;
      case 10:
        if (keyIs(n, "expires_at", 10))
          expiresAt = &m->value;
        break;
      case 11:
        if (keyIs(n, "description", 11))
          description = &m->value;
        break;
      case 14:
        if (keyIs(n, "overall_status", 14))
          status = &m->value;
        break;
      case 19:
        if (keyIs(n, "overall_status_code", 19))
          code = &m->value;
        break;
      default:
        break;
    }
  }
}

const std::string& kindPrefix(Kind kind) {
  static const std::string kPrefixes[3] = {"request", "response", "event"};
  return kPrefixes[static_cast<int>(kind)];
}

std::optional<std::string> parseInPlace(rapidjson::Reader& reader, unsigned maxDepth,
                                        std::string_view bytes, char* text, ParsedDocument& doc) {
  rapidjson::InsituStringStream stream(text);
  rapidjson::ParseResult parsed;
  GuardHandler::Failure guardFailure = GuardHandler::Failure::kNone;
  // One scan for \u escapes (rare); only then the ones the guard must watch for.
  const bool mayHoldEscape = bytes.find("\\u") != std::string_view::npos;
  const bool mayHoldNul = mayHoldEscape && bytes.find("\\u0000") != std::string_view::npos;
  const bool mayHoldSurrogate = mayHoldEscape && (bytes.find("\\ud") != std::string_view::npos ||
                                                  bytes.find("\\uD") != std::string_view::npos);
  auto generate = [&](ParsedDocument& d) {
    GuardHandler guard(d, maxDepth, mayHoldNul, mayHoldSurrogate);
    parsed = reader.Parse<kParseFlags>(stream, guard);
    guardFailure = guard.failure();
    return !parsed.IsError();
  };
  doc.Populate(generate);
  if (parsed.IsError()) {
    std::string at = " at byte " + std::to_string(parsed.Offset());
    switch (guardFailure) {
      case GuardHandler::Failure::kTooDeep:
        return "nesting deeper than " + std::to_string(maxDepth) + " levels" + at;
      case GuardHandler::Failure::kLoneSurrogate:
        return "invalid JSON" + at + ": a \\u escape encodes a lone surrogate";
      case GuardHandler::Failure::kNul:
        return "string contains a NUL character (\\u0000)" + at;
      case GuardHandler::Failure::kNone:
        break;
    }
    return std::string("invalid JSON") + at + ": " + rapidjson::GetParseError_En(parsed.Code());
  }
  while (stream.Peek() == ' ' || stream.Peek() == '\n' || stream.Peek() == '\r' ||
         stream.Peek() == '\t') {
    stream.Take();
  }
  if (stream.Tell() != bytes.size()) {
    return "unexpected data after the JSON value at byte " + std::to_string(stream.Tell());
  }
  return std::nullopt;
}

Result<std::pair<Kind, Value*>, DecodeError> findKind(ParsedDocument& doc) {
  auto fail = [](std::string message) {
    DecodeError e;
    e.message = std::move(message);
    return e;
  };
  if (!doc.IsObject()) {
    return fail(std::string("expected a JSON object with one of request, response, event; got ") +
                json::typeName(doc));
  }
  int kindIndex = -1;
  Value* inner = nullptr;
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
    // The kinds' names differ in length: at most one can match.
    int k = -1;
    switch (m->name.GetStringLength()) {
      case 7:
        k = keyIs(m->name, "request", 7) ? 0 : -1;
        break;
      case 8:
        k = keyIs(m->name, "response", 8) ? 1 : -1;
        break;
      case 5:
        k = keyIs(m->name, "event", 5) ? 2 : -1;
        break;
      default:
        break;
    }
    if (k < 0) {
      continue;
    }
    if (kindIndex >= 0) {
      return fail("more than one of request, response, event (" +
                  kindPrefix(static_cast<Kind>(kindIndex)) + " and " +
                  kindPrefix(static_cast<Kind>(k)) + ")");
    }
    kindIndex = k;
    inner = &m->value;
  }
  if (kindIndex < 0) {
    if (doc.MemberCount() == 1) {
      return fail("unknown envelope kind " + json::stringify(doc.MemberBegin()->name) +
                  ": expected request, response or event");
    }
    return fail("expected one of request, response, event");
  }
  return std::make_pair(static_cast<Kind>(kindIndex), inner);
}

DecodeError headerError(Kind kind, const Header& h, Status status, std::string field,
                        std::string message) {
  DecodeError e;
  e.status = status;
  e.field = std::move(field);
  e.message = std::move(message);
  e.kind = kind;
  if (h.id != nullptr) {
    e.id = readId(*h.id);
  }
  if (h.type != nullptr && h.type->IsString()) {
    e.type = stringOf(*h.type);
  }
  if (h.sender != nullptr && h.sender->IsString()) {
    e.sender = stringOf(*h.sender);
  }
  if (h.timestamp != nullptr && h.timestamp->IsString()) {
    e.timestampMs =
        parseRfc3339Ms(std::string_view(h.timestamp->GetString(), h.timestamp->GetStringLength()));
  } else if (h.timestamp != nullptr && h.timestamp->IsInt64() && h.timestamp->GetInt64() >= 0) {
    e.timestampMs = h.timestamp->GetInt64();
  }
  return e;
}

namespace {

/// A header time: RFC 3339 text or epoch milliseconds (the schema checked the type).
std::optional<int64_t> headerTime(const Value& v) {
  if (v.IsString()) {
    return parseRfc3339Ms(std::string_view(v.GetString(), v.GetStringLength()));
  }
  return v.GetInt64();
}

}  // namespace

std::optional<DecodeError> readHeader(Envelope& env, const Header& h, Kind kind) {
  const std::string& kname = kindPrefix(kind);
  auto badTime = [&](const char* field, const Value& v) {
    return headerError(kind, h, Status::kBadRequest, kname + "." + field,
                       "expected RFC 3339 string or epoch milliseconds, got " + json::preview(v) +
                           " (not a valid date-time)");
  };
  env.kind = kind;
  env.id = *readId(*h.id);
  env.sender = stringOf(*h.sender);
  if (auto ms = headerTime(*h.timestamp)) {
    env.timestampMs = *ms;
  } else {
    return badTime("timestamp", *h.timestamp);
  }
  if (kind == Kind::kRequest && h.expiresAt != nullptr) {
    if (auto ms = headerTime(*h.expiresAt)) {
      env.expiresAtMs = *ms;
    } else {
      return badTime("expires_at", *h.expiresAt);
    }
  }
  if (kind == Kind::kRequest && h.recipient != nullptr && h.recipient->IsString()) {
    env.recipient = stringOf(*h.recipient);
  }
  if (h.description != nullptr) {
    env.description = stringOf(*h.description);
  }
  if (h.type != nullptr) {
    env.type = stringOf(*h.type);
  }
  if (kind == Kind::kResponse) {
    env.statusCode = h.code->IsString() ? std::atoi(h.code->GetString()) : h.code->GetInt();
    if (h.status != nullptr) {
      env.status = stringOf(*h.status);
    } else {
      env.status = env.isSuccess() ? kStatusSucceed : kStatusFailed;
    }
  }
  return std::nullopt;
}

std::optional<DecodeError> normaliseBody(const Envelope& env, Value& inner, Header& h,
                                         Document::AllocatorType& alloc) {
  const Kind kind = env.kind;
  const std::string& kname = kindPrefix(kind);
  if (h.body == nullptr) {
    inner.AddMember("body", Value(rapidjson::kObjectType), alloc);
    h.body = &inner["body"];
  }
  if (kind != Kind::kRequest || env.type != request_type::kChangeFrpClientConfig) {
    return std::nullopt;
  }
  Value& body = *h.body;
  if (body.IsArray()) {
    if (body.Size() != 1 || !body[0].IsObject()) {
      return headerError(kind, h, Status::kBadRequest, kname + ".body",
                         "expected an object or a one-element array holding an object, got an "
                         "array of " +
                             std::to_string(body.Size()));
    }
    Value element(std::move(body[0]));
    body = element;
  }
  if (h.hasActions) {
    if (body.IsObject() && body.HasMember("actions")) {
      return headerError(kind, h, Status::kBadRequest, kname + ".actions",
                         "given both beside body and inside it; send one");
    }
    if (body.IsObject()) {
      Value actions(std::move(h.actions->value));
      body.AddMember("actions", actions, alloc);
    }
  }
  return std::nullopt;
}

}  // namespace edgelink::envelope::detail
