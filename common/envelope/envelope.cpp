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
#include "envelope/decode_parts.h"
#include "envelope/salvage.h"
#include "envelope/types.h"
#include "envelope/utf8.h"
#include "jsonschema/json_util.h"
#include "jsonschema/schema_validator.h"

namespace edgelink::envelope {
namespace {

using rapidjson::Document;
using rapidjson::SizeType;
using rapidjson::Value;

const char* const kKindNames[] = {"request", "response", "event"};

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

// The DOM's storage. For decoded envelopes one allocation holds this object, then the message bytes
// (parsed in place: strings are not copied), then the first chunk of the DOM's memory pool.
struct Envelope::Storage {
  static constexpr size_t kChunk = 1024;  // later pool chunks (small: envelopes are small)
  static constexpr size_t kStack = 1024;  // the parse stack's first size (RapidJSON's default)
  static constexpr size_t kHeader = (sizeof(void*) * 64 + 15) & ~size_t{15};

  static constexpr size_t kBlockStep = 1024;      // block sizes are multiples of this
  static constexpr size_t kMaxKeptBlock = 16384;  // larger blocks are not kept for reuse

  rapidjson::MemoryPoolAllocator<> pool;
  detail::ParsedDocument doc;
  char* text = nullptr;
  size_t blockBytes = 0;  // the block's size (decoded envelopes)

  Storage() : pool(kChunk), doc(&pool, kStack, &detail::ParseStackAllocator::shared()) {}
  Storage(char* poolChunk, size_t poolBytes, char* textStart, size_t block)
      : pool(poolChunk, poolBytes, kChunk),
        doc(&pool, kStack, &detail::ParseStackAllocator::shared()),
        text(textStart),
        blockBytes(block) {}

  // The last freed block of each thread (up to kMaxKeptBlock bytes), reused by the next decode:
  // envelopes are decoded and dropped one after the other, so this saves a malloc/free pair of
  // ~2 KB (too large for glibc's fast bins) per message.
  struct KeptBlock {
    void* block = nullptr;
    size_t bytes = 0;
    bool alive = true;  // false once the thread's destructors ran (late envelopes free theirs)
    ~KeptBlock() {
      alive = false;
      ::operator delete(block);
      block = nullptr;
    }
  };
  static thread_local KeptBlock kept;

  static Storage* create(std::string_view bytes) {
    static_assert(sizeof(Storage) <= kHeader, "Storage outgrew its header slot");
    const size_t textBytes = (bytes.size() + 1 + 15) & ~size_t{15};
    const size_t need = kHeader + textBytes + bytes.size() * 3 + 512;
    char* block;
    size_t blockBytes;
    if (kept.block != nullptr && kept.bytes >= need) {
      block = static_cast<char*>(kept.block);
      blockBytes = kept.bytes;
      kept.block = nullptr;
    } else {
      blockBytes = (need + kBlockStep - 1) / kBlockStep * kBlockStep;
      block = static_cast<char*>(::operator new(blockBytes));
    }
    char* text = block + kHeader;
    if (!bytes.empty()) {  // an empty value (a Kafka tombstone) may have no bytes behind it
      std::memcpy(text, bytes.data(), bytes.size());
    }
    text[bytes.size()] = '\0';
    return new (block)
        Storage(text + textBytes, blockBytes - kHeader - textBytes, text, blockBytes);
  }

  static void release(Storage* s) {
    const bool inBlock = s->text != nullptr;
    const size_t blockBytes = s->blockBytes;
    s->~Storage();
    if (!inBlock) {
      ::operator delete(static_cast<void*>(s), sizeof(Storage));
    } else if (kept.alive && kept.block == nullptr && blockBytes <= kMaxKeptBlock) {
      kept.block = s;
      kept.bytes = blockBytes;
    } else {
      ::operator delete(static_cast<void*>(s));
    }
  }
};

thread_local Envelope::Storage::KeptBlock Envelope::Storage::kept;

void Envelope::StorageDeleter::operator()(Storage* s) const {
  Storage::release(s);
}

Envelope::Envelope() : storage_(new (::operator new(sizeof(Storage))) Storage()) {
  storage_->doc.SetObject();
  body_ = &storage_->doc;
}

Envelope::Envelope(DecodeKey, std::string_view bytes) : storage_(Storage::create(bytes)) {}

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
  e.recipient = recipient;
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
  limits_.maxDepth = std::min(std::max(limits_.maxDepth, 4u), detail::kMaxDepthCap);
  static const Value kAnything(rapidjson::kObjectType);
  anyValue_ = std::move(jsonschema::SchemaValidator::compile(kAnything, "{}")).value();
}

Decoder::~Decoder() = default;

namespace {

/// The body against its type's schema; bodies of types with no schema are still walked for
/// duplicate keys.
std::optional<DecodeError> checkBody(const SchemaRegistry& registry,
                                     const jsonschema::SchemaValidator& anyValue,
                                     const Envelope& env, const detail::Header& h) {
  static const std::string kBodyPrefixes[3] = {"request.body", "response.body", "event.body"};
  const Kind kind = env.kind;
  const std::string& bodyPrefix = kBodyPrefixes[static_cast<int>(kind)];
  const bool success = kind != Kind::kResponse || env.isSuccess();
  std::optional<jsonschema::SchemaValidator::Violation> v;
  if (const CompiledSchema* bodySchema = registry.body(kind, env.type, success)) {
    v = bodySchema->validator->validate(*h.body, bodyPrefix);
  } else if (!h.body->IsObject()) {
    return detail::headerError(kind, h, Status::kBadRequest, bodyPrefix,
                               std::string("expected object, got ") + json::typeName(*h.body));
  } else {
    v = anyValue.validate(*h.body, bodyPrefix);  // duplicate keys
  }
  if (v) {
    return detail::headerError(kind, h, Status::kBadRequest, v->field, v->message);
  }
  return std::nullopt;
}

}  // namespace

Result<Envelope, DecodeError> Decoder::decode(std::string_view bytes) {
  // Refused before the header could be read from the DOM: whatever a lenient scan still finds
  // is kept, so a request whose id is readable can be answered.
  auto failEarly = [&](Status s, std::string message) {
    DecodeError e;
    e.status = s;
    e.message = std::move(message);
    Salvaged h = salvageHeader(bytes);
    e.kind = h.kind;
    e.id = std::move(h.id);
    e.sender = std::move(h.sender);
    e.type = std::move(h.type);
    e.timestampMs = h.timestampMs;
    return e;
  };
  std::optional<DecodeError> refused;
  if (bytes.size() > limits_.maxBytes) {
    refused = failEarly(Status::kTooLarge, "message of " + std::to_string(bytes.size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(limits_.maxBytes) + " bytes");
  } else if (size_t bad =
                 invalidUtf8At(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
             bad != std::string::npos) {
    // UTF-8 is checked over the whole input before parsing (faster than per string).
    refused = failEarly(Status::kBadRequest, "invalid JSON at byte " + std::to_string(bad) +
                                                 ": invalid UTF-8 (RFC 3629) in a string");
  }
  // The envelope is built in the result and the result returned by name from this one return
  // (no move of the envelope: ~300 instructions a message).
  Result<Envelope, DecodeError> out =
      refused ? Result<Envelope, DecodeError>(std::move(*refused))
              : Result<Envelope, DecodeError>(std::in_place_index<0>, Envelope::DecodeKey(), bytes);
  if (out.ok()) {
    // 1. Parse in place into storage the envelope keeps (the bytes and the DOM share one block;
    //    strings are not copied), recursively but depth-bounded by the guard. NUL characters can
    //    only come from a \u0000 escape.
    Envelope& env = *out;
    if (auto why = detail::parseInPlace(reader_, limits_.maxDepth, bytes, env.storage_->text,
                                        env.storage_->doc)) {
      out = failEarly(Status::kBadRequest, std::move(*why));
    } else if (auto e = checkParsed(env)) {
      out = std::move(*e);
    }
  }
  return out;
}

std::optional<DecodeError> Decoder::checkParsed(Envelope& env) {
  detail::ParsedDocument& doc = env.storage_->doc;

  // 2. Which kind.
  auto found = detail::findKind(doc);
  if (!found) {
    return found.error();
  }
  const auto [kind, innerPtr] = *found;
  Value& inner = *innerPtr;
  detail::Header h(inner);

  // 3. Structure: the kind's schema (and duplicate keys) for everything but the body, which is
  //    checked against its type's schema once normalised.
  const std::string& kname = detail::kindPrefix(kind);
  if (auto v = registry_.envelope(kind).validator->validate(inner, kname, h.body)) {
    return detail::headerError(kind, h, Status::kBadRequest, v->field, v->message);
  }
  for (auto m = doc.MemberBegin(); m != doc.MemberEnd(); ++m) {
    for (auto n = m + 1; n != doc.MemberEnd(); ++n) {
      if (m->name == n->name) {
        return detail::headerError(kind, h, Status::kBadRequest, detail::stringOf(m->name),
                                   "duplicate key");
      }
    }
  }

  // 4. Canonical header; 5. the body: an object, the legacy shapes normalised, then checked
  //    against its type's schema.
  if (auto e = detail::readHeader(env, h, kind)) {
    return std::move(*e);
  }
  if (auto e = detail::normaliseBody(env, inner, h, doc.GetAllocator())) {
    return std::move(*e);
  }
  if (auto e = checkBody(registry_, *anyValue_, env, h)) {
    return std::move(*e);
  }
  env.body_ = h.body;
  return std::nullopt;
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
  if (e.kind == Kind::kRequest && !e.recipient.empty()) {
    w.Key("recipient");
    writeString(w, e.recipient);
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
