#include "envelope/envelope.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <random>
#include <vector>

#include "core/time_format.h"
#include "envelope/salvage.h"
#include "envelope/types.h"
#include "jsonschema/json_util.h"
#include "jsonschema/schema_validator.h"

namespace edgelink::envelope {
namespace {

using rapidjson::Document;
using rapidjson::SizeType;
using rapidjson::Value;

// Recursive (not iterative) parsing is safe: GuardHandler stops it at maxDepth. UTF-8 is checked
// up front, faster than per string.
constexpr unsigned kParseFlags = rapidjson::kParseInsituFlag | rapidjson::kParseStopWhenDoneFlag;
constexpr unsigned kMaxDepthCap = 512;
constexpr size_t kMaxIdChars = 256;

const char* const kKindNames[] = {"request", "response", "event"};

// Sits between the reader and the document: bounds nesting, refuses NUL characters (which
// PostgreSQL text/jsonb cannot store and which no field of the protocol needs) and lone low
// surrogates (RapidJSON 1.1.0 turns a "\udc00" with no high half before it into the invalid
// UTF-8 bytes ED B0 80 instead of failing). Both can only come from \u escapes, so the checks
// run only when the input holds such an escape.
class GuardHandler {
 public:
  enum class Failure { kNone, kTooDeep, kNul, kLoneSurrogate };

  GuardHandler(Document& doc, unsigned maxDepth, bool checkNul, bool checkSurrogates)
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

  Document& doc_;
  unsigned maxDepth_;
  bool checkNul_;
  bool checkSurrogates_;
  unsigned depth_ = 0;
  Failure failure_ = Failure::kNone;
};

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

void writeId(rapidjson::Writer<rapidjson::StringBuffer>& w, const Id& id) {
  if (id.isNumber()) {
    w.Uint64(std::stoull(id.str()));
  } else {
    w.String(id.str().c_str(), static_cast<SizeType>(id.str().size()));
  }
}

void writeString(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& s) {
  w.String(s.c_str(), static_cast<SizeType>(s.size()));
}

}  // namespace

const char* kindName(Kind kind) {
  return kKindNames[static_cast<int>(kind)];
}

// ---------------------------------------------------------------------------------------------
// Id
// ---------------------------------------------------------------------------------------------

Id Id::generate() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }());
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof buf, "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xFFFF), static_cast<unsigned>(hi & 0xFFFF),
                static_cast<unsigned>(lo >> 48),
                static_cast<unsigned long long>(lo & 0xFFFFFFFFFFFFULL));
  return Id::text(buf);
}

// ---------------------------------------------------------------------------------------------
// Envelope
// ---------------------------------------------------------------------------------------------

// The DOM's storage. Decoded envelopes parse in place: `block` holds the message bytes followed
// by the first chunk of the DOM's memory pool, so decoding allocates once for both.
// For decoded envelopes one allocation holds this object, then the message bytes (parsed in
// place: strings are not copied), then the first chunk of the DOM's memory pool.
struct Envelope::Storage {
  static constexpr size_t kChunk = 1024;  // later pool chunks (small: envelopes are small)
  static constexpr size_t kHeader = (sizeof(void*) * 64 + 15) & ~size_t{15};

  rapidjson::MemoryPoolAllocator<> pool;
  Document doc;
  char* text = nullptr;

  Storage() : pool(kChunk), doc(&pool) {}
  Storage(char* poolChunk, size_t poolBytes, char* textStart)
      : pool(poolChunk, poolBytes, kChunk), doc(&pool), text(textStart) {}

  static Storage* create(std::string_view bytes) {
    static_assert(sizeof(Storage) <= kHeader, "Storage outgrew its header slot");
    const size_t textBytes = (bytes.size() + 1 + 15) & ~size_t{15};
    const size_t poolBytes = bytes.size() * 3 + 512;
    char* block = static_cast<char*>(::operator new(kHeader + textBytes + poolBytes));
    char* text = block + kHeader;
    std::memcpy(text, bytes.data(), bytes.size());
    text[bytes.size()] = '\0';
    return new (block) Storage(text + textBytes, poolBytes, text);
  }
};

void Envelope::StorageDeleter::operator()(Storage* s) const {
  bool inBlock = s->text != nullptr;
  s->~Storage();
  if (inBlock) {
    ::operator delete(static_cast<void*>(s));
  } else {
    ::operator delete(static_cast<void*>(s), sizeof(Storage));
  }
}

Envelope::Envelope() : storage_(new (::operator new(sizeof(Storage))) Storage()) {
  storage_->doc.SetObject();
  body_ = &storage_->doc;
}

Envelope::Envelope(std::string_view bytes) : storage_(Storage::create(bytes)) {}

Envelope::~Envelope() = default;
Envelope::Envelope(Envelope&&) noexcept = default;
Envelope& Envelope::operator=(Envelope&&) noexcept = default;

rapidjson::Document::AllocatorType& Envelope::allocator() {
  return storage_->pool;
}

Envelope Envelope::clone() const {
  Envelope e;
  e.kind = kind;
  e.id = id;
  e.sender = sender;
  e.timestampMs = timestampMs;
  e.expiresAtMs = expiresAtMs;
  e.description = description;
  e.type = type;
  e.statusCode = statusCode;
  e.status = status;
  e.storage_->doc.CopyFrom(*body_, e.storage_->pool);
  return e;
}

Envelope Envelope::request(Id id, std::string sender, int64_t timestampMs, std::string type,
                           std::string description) {
  Envelope e;
  e.kind = Kind::kRequest;
  e.id = std::move(id);
  e.sender = std::move(sender);
  e.timestampMs = timestampMs;
  e.type = std::move(type);
  e.description = std::move(description);
  return e;
}

Envelope Envelope::response(const Envelope& req, std::string sender, int64_t timestampMs,
                            int statusCode, std::string description) {
  return response(req.id, req.type, std::move(sender), timestampMs, statusCode,
                  std::move(description));
}

Envelope Envelope::response(Id id, std::string type, std::string sender, int64_t timestampMs,
                            int statusCode, std::string description) {
  Envelope e;
  e.kind = Kind::kResponse;
  e.id = std::move(id);
  e.type = std::move(type);
  e.sender = std::move(sender);
  e.timestampMs = timestampMs;
  e.statusCode = statusCode;
  e.status = statusCode >= 200 && statusCode < 300 ? kStatusSucceed : kStatusFailed;
  e.description = std::move(description);
  return e;
}

Envelope Envelope::event(Id id, std::string sender, int64_t timestampMs, std::string type,
                         std::string description) {
  Envelope e;
  e.kind = Kind::kEvent;
  e.id = std::move(id);
  e.sender = std::move(sender);
  e.timestampMs = timestampMs;
  e.type = std::move(type);
  e.description = std::move(description);
  return e;
}

void Envelope::set(const char* key, Value value) {
  auto it = body_->FindMember(key);
  if (it != body_->MemberEnd()) {
    it->value = value;
  } else {
    body_->AddMember(json::str(key, allocator()), value, allocator());
  }
}

void Envelope::set(const char* key, std::string_view value) {
  set(key, json::str(value, allocator()));
}

// ---------------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------------

Decoder::Decoder(Limits limits, const SchemaRegistry& registry)
    : limits_(limits), registry_(registry) {
  limits_.maxDepth = std::min(std::max(limits_.maxDepth, 4u), kMaxDepthCap);
  static const Value kAnything(rapidjson::kObjectType);
  anyValue_ = std::move(jsonschema::SchemaValidator::compile(kAnything, "{}")).value();
}

Decoder::~Decoder() = default;

namespace {

bool keyIs(const Value& name, const char* key, size_t len) {
  return name.GetStringLength() == len && std::memcmp(name.GetString(), key, len) == 0;
}

// Pointers to the header members of a kind object, found in one pass.
struct Header {
  const Value* id = nullptr;
  const Value* sender = nullptr;
  const Value* timestamp = nullptr;
  const Value* expiresAt = nullptr;
  const Value* description = nullptr;
  const Value* type = nullptr;
  const Value* code = nullptr;
  const Value* status = nullptr;
  Value* body = nullptr;
  Value::MemberIterator actions;
  bool hasActions = false;

  explicit Header(Value& inner) {
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
};

std::string stringOf(const Value& v) {
  return std::string(v.GetString(), v.GetStringLength());
}

const std::string kPrefixes[3] = {"request", "response", "event"};
const std::string kBodyPrefixes[3] = {"request.body", "response.body", "event.body"};

}  // namespace

Result<Envelope, DecodeError> Decoder::decode(std::string_view bytes) {
  auto fail = [](Status s, std::string field, std::string message) {
    DecodeError e;
    e.status = s;
    e.field = std::move(field);
    e.message = std::move(message);
    return e;
  };
  // Refused before the header could be read from the DOM: whatever a lenient scan still finds
  // is kept, so a request whose id is readable can be answered.
  auto failEarly = [&](Status s, std::string message) {
    DecodeError e = fail(s, "", std::move(message));
    Salvaged h = salvageHeader(bytes);
    e.kind = h.kind;
    e.id = std::move(h.id);
    e.sender = std::move(h.sender);
    e.type = std::move(h.type);
    e.timestampMs = h.timestampMs;
    return e;
  };
  if (bytes.size() > limits_.maxBytes) {
    return failEarly(Status::kTooLarge, "message of " + std::to_string(bytes.size()) +
                                            " bytes exceeds the limit of " +
                                            std::to_string(limits_.maxBytes) + " bytes");
  }

  // 1. Parse in place into storage the envelope keeps (the bytes and the DOM share one block;
  //    strings are not copied), recursively but depth-bounded by the guard, after a UTF-8
  //    check of the whole input. NUL characters can only come from a \u0000 escape.
  if (size_t bad =
          invalidUtf8At(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
      bad != std::string::npos) {
    return failEarly(Status::kBadRequest, "invalid JSON at byte " + std::to_string(bad) +
                                              ": invalid UTF-8 (RFC 3629) in a string");
  }
  Envelope env(bytes);
  Document& doc = env.storage_->doc;
  rapidjson::InsituStringStream stream(env.storage_->text);
  rapidjson::ParseResult parsed;
  GuardHandler::Failure guardFailure = GuardHandler::Failure::kNone;
  // One scan for \u escapes (rare); only then the ones the guard must watch for.
  const bool mayHoldEscape = bytes.find("\\u") != std::string_view::npos;
  const bool mayHoldNul = mayHoldEscape && bytes.find("\\u0000") != std::string_view::npos;
  const bool mayHoldSurrogate = mayHoldEscape && (bytes.find("\\ud") != std::string_view::npos ||
                                                  bytes.find("\\uD") != std::string_view::npos);
  auto generate = [&](Document& d) {
    GuardHandler guard(d, limits_.maxDepth, mayHoldNul, mayHoldSurrogate);
    parsed = reader_.Parse<kParseFlags>(stream, guard);
    guardFailure = guard.failure();
    return !parsed.IsError();
  };
  doc.Populate(generate);
  if (parsed.IsError()) {
    std::string at = " at byte " + std::to_string(parsed.Offset());
    if (guardFailure == GuardHandler::Failure::kTooDeep) {
      return failEarly(Status::kBadRequest,
                       "nesting deeper than " + std::to_string(limits_.maxDepth) + " levels" + at);
    }
    if (guardFailure == GuardHandler::Failure::kLoneSurrogate) {
      return failEarly(Status::kBadRequest,
                       "invalid JSON" + at + ": a \\u escape encodes a lone surrogate");
    }
    if (guardFailure == GuardHandler::Failure::kNul) {
      return failEarly(Status::kBadRequest, "string contains a NUL character (\\u0000)" + at);
    }
    return failEarly(Status::kBadRequest, std::string("invalid JSON") + at + ": " +
                                              rapidjson::GetParseError_En(parsed.Code()));
  }
  while (stream.Peek() == ' ' || stream.Peek() == '\n' || stream.Peek() == '\r' ||
         stream.Peek() == '\t') {
    stream.Take();
  }
  if (stream.Tell() != bytes.size()) {
    return failEarly(Status::kBadRequest, "unexpected data after the JSON value at byte " +
                                              std::to_string(stream.Tell()));
  }

  // 2. Which kind.
  if (!doc.IsObject()) {
    return fail(Status::kBadRequest, "",
                std::string("expected a JSON object with one of request, response, event; got ") +
                    json::typeName(doc));
  }
  int kindIndex = -1;
  Value* innerPtr = nullptr;
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
    for (int k = 0; k < 3; ++k) {
      if (keyIs(m->name, kKindNames[k], kPrefixes[k].size())) {
        if (kindIndex >= 0) {
          return fail(Status::kBadRequest, "",
                      std::string("more than one of request, response, event (") +
                          kKindNames[kindIndex] + " and " + kKindNames[k] + ")");
        }
        kindIndex = k;
        innerPtr = &m->value;
      }
    }
  }
  if (kindIndex < 0) {
    if (doc.MemberCount() == 1) {
      return fail(Status::kBadRequest, "",
                  "unknown envelope kind " + json::stringify(doc.MemberBegin()->name) +
                      ": expected request, response or event");
    }
    return fail(Status::kBadRequest, "", "expected one of request, response, event");
  }
  const auto kind = static_cast<Kind>(kindIndex);
  const std::string& kname = kPrefixes[kindIndex];
  Value& inner = *innerPtr;
  Header h(inner);

  // On failure, whatever can be read is kept so a request can still be answered.
  auto failWith = [&](Status s, std::string field, std::string message) {
    DecodeError e = fail(s, std::move(field), std::move(message));
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
      e.timestampMs = parseRfc3339Ms(
          std::string_view(h.timestamp->GetString(), h.timestamp->GetStringLength()));
    } else if (h.timestamp != nullptr && h.timestamp->IsInt64() && h.timestamp->GetInt64() >= 0) {
      e.timestampMs = h.timestamp->GetInt64();
    }
    return e;
  };

  // 3. Structure: the kind's schema (and duplicate keys) for everything but the body, which is
  //    checked against its type's schema once normalised.
  if (auto v = registry_.envelope(kind).validator->validate(inner, kname, h.body)) {
    return failWith(Status::kBadRequest, v->field, v->message);
  }
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
    for (auto n = m + 1; n != doc.MemberEnd(); ++n) {
      if (m->name == n->name) {
        return failWith(Status::kBadRequest, stringOf(m->name), "duplicate key");
      }
    }
  }

  // 4. Canonical header (the schema guarantees presence and types).
  env.kind = kind;
  env.id = *readId(*h.id);
  env.sender = stringOf(*h.sender);
  if (h.timestamp->IsString()) {
    auto ms =
        parseRfc3339Ms(std::string_view(h.timestamp->GetString(), h.timestamp->GetStringLength()));
    if (!ms) {
      return failWith(Status::kBadRequest, kname + ".timestamp",
                      "expected RFC 3339 string or epoch milliseconds, got " +
                          json::preview(*h.timestamp) + " (not a valid date-time)");
    }
    env.timestampMs = *ms;
  } else {
    env.timestampMs = h.timestamp->GetInt64();
  }
  if (kind == Kind::kRequest && h.expiresAt != nullptr) {
    if (h.expiresAt->IsString()) {
      auto ms = parseRfc3339Ms(
          std::string_view(h.expiresAt->GetString(), h.expiresAt->GetStringLength()));
      if (!ms) {
        return failWith(Status::kBadRequest, kname + ".expires_at",
                        "expected RFC 3339 string or epoch milliseconds, got " +
                            json::preview(*h.expiresAt) + " (not a valid date-time)");
      }
      env.expiresAtMs = *ms;
    } else {
      env.expiresAtMs = h.expiresAt->GetInt64();
    }
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

  // 5. Body: an object; the legacy shapes (one-element array, actions beside it) normalised.
  if (h.body == nullptr) {
    inner.AddMember("body", Value(rapidjson::kObjectType), doc.GetAllocator());
    h.body = &inner["body"];
  }
  if (kind == Kind::kRequest && env.type == request_type::kChangeFrpClientConfig) {
    Value& body = *h.body;
    if (body.IsArray()) {
      if (body.Size() != 1 || !body[0].IsObject()) {
        return failWith(Status::kBadRequest, kname + ".body",
                        "expected an object or a one-element array holding an object, got an "
                        "array of " +
                            std::to_string(body.Size()));
      }
      Value element(std::move(body[0]));
      body = element;
    }
    if (h.hasActions) {
      if (body.IsObject() && body.HasMember("actions")) {
        return failWith(Status::kBadRequest, kname + ".actions",
                        "given both beside body and inside it; send one");
      }
      if (body.IsObject()) {
        Value actions(std::move(h.actions->value));
        body.AddMember("actions", actions, doc.GetAllocator());
      }
    }
  }
  const std::string& bodyPrefix = kBodyPrefixes[kindIndex];
  const bool success = kind != Kind::kResponse || env.isSuccess();
  if (const CompiledSchema* bodySchema = registry_.body(kind, env.type, success)) {
    if (auto v = bodySchema->validator->validate(*h.body, bodyPrefix)) {
      return failWith(Status::kBadRequest, v->field, v->message);
    }
  } else if (!h.body->IsObject()) {
    return failWith(Status::kBadRequest, bodyPrefix,
                    std::string("expected object, got ") + json::typeName(*h.body));
  } else if (auto v = anyValue_->validate(*h.body, bodyPrefix)) {
    return failWith(Status::kBadRequest, v->field, v->message);  // duplicate keys
  }
  env.body_ = h.body;
  return env;
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

std::string encode(const Envelope& e) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key(kindName(e.kind));
  w.StartObject();
  w.Key("id");
  writeId(w, e.id);
  w.Key("sender");
  writeString(w, e.sender);
  w.Key("timestamp");
  writeString(w, formatRfc3339Ms(e.timestampMs));
  if (e.kind == Kind::kRequest && e.expiresAtMs) {
    w.Key("expires_at");
    writeString(w, formatRfc3339Ms(*e.expiresAtMs));
  }
  w.Key("description");
  writeString(w, e.description);
  if (e.kind != Kind::kResponse || !e.type.empty()) {
    w.Key("type");
    writeString(w, e.type);
  }
  if (e.kind == Kind::kResponse) {
    w.Key("overall_status_code");
    writeString(w, std::to_string(e.statusCode));
    w.Key("overall_status");
    writeString(w, e.status);
  }
  w.Key("body");
  e.body().Accept(w);
  w.EndObject();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

}  // namespace edgelink::envelope
