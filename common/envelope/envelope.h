#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "envelope/schema_registry.h"
#include "jsonschema/schema_validator.h"

namespace edgelink::envelope {

/// "request", "response" or "event".
const char* kindName(Kind kind);

/// A message id: a non-empty string or a non-negative integer (the original design used
/// integers). `str()` is the canonical text used for correlation and dedupe; the kind is kept
/// so a response to an integer id carries an integer id.
class Id {
 public:
  Id() = default;
  static Id text(std::string s) { return Id(std::move(s), false); }
  static Id number(uint64_t n) { return Id(std::to_string(n), true); }
  /// A fresh random UUIDv4 string id.
  static Id generate();

  const std::string& str() const { return text_; }
  bool isNumber() const { return number_; }
  bool empty() const { return text_.empty(); }

  friend bool operator==(const Id& a, const Id& b) {
    return a.number_ == b.number_ && a.text_ == b.text_;
  }
  friend bool operator!=(const Id& a, const Id& b) { return !(a == b); }

 private:
  Id(std::string t, bool n) : text_(std::move(t)), number_(n) {}
  std::string text_;
  bool number_ = false;
};

/// Bounds applied to untrusted bytes before and while parsing.
struct Limits {
  size_t maxBytes = 64 * 1024;  ///< Larger messages are rejected (413) unread.
  unsigned maxDepth = 32;       ///< Deeper nesting of objects/arrays is rejected (400).
};

/// One message in canonical form. Whatever was accepted on the wire (integer or string id,
/// RFC 3339 or epoch-ms timestamp, string or integer status code, legacy body shapes) is
/// normalised: the timestamp to epoch ms, the status code to an int, the body to an object.
/// The `recipient` of a request a board sends to the cloud.
inline constexpr const char* kRecipientCloud = "cloud";

class Envelope {
 public:
  Envelope();
  ~Envelope();
  Envelope(Envelope&&) noexcept;
  Envelope& operator=(Envelope&&) noexcept;
  Envelope(const Envelope&) = delete;
  Envelope& operator=(const Envelope&) = delete;
  Envelope clone() const;

  /// Only the decoder can name this: for the constructor below.
  class DecodeKey {
    friend class Decoder;
    DecodeKey() = default;
  };
  /// Storage for `bytes` to be parsed in place (the decoder builds its result in place with it).
  Envelope(DecodeKey, std::string_view bytesToParseInPlace);

  /// A request with an empty body (fill it through body()/allocator()).
  static Envelope request(Id id, std::string sender, int64_t timestampMs, std::string type,
                          std::string description = {});
  /// A response to `req`: same id, `type` echoing the request's type.
  static Envelope response(const Envelope& req, std::string sender, int64_t timestampMs,
                           int statusCode, std::string description = {});
  /// A response to a request known only by id/type (e.g. one that failed to decode).
  static Envelope response(Id id, std::string type, std::string sender, int64_t timestampMs,
                           int statusCode, std::string description = {});
  static Envelope event(Id id, std::string sender, int64_t timestampMs, std::string type,
                        std::string description = {});

  Kind kind = Kind::kRequest;
  Id id;
  std::string sender;
  int64_t timestampMs = 0;
  /// Requests only: when the sender stops wanting it done (the wire's optional `expires_at`).
  /// A request past it is never acted on (408), like one older than the agent's max age.
  std::optional<int64_t> expiresAtMs;
  /// Requests only: who is asked (the wire's optional `recipient`). Empty: the edge whose topic
  /// carries it (the cloud asking a board); kRecipientCloud: a board asking the cloud
  /// (edge->cloud requests, e.g. get_config, answered by the dispatcher).
  std::string recipient;
  std::string description;
  /// Request/event type. On responses: the answered request's type (may be empty).
  std::string type;
  int statusCode = 0;  ///< Responses only.
  std::string status;  ///< Responses only: "Succeed" / "Failed" or the sender's text.

  bool isSuccess() const { return statusCode >= 200 && statusCode < 300; }

  /// The body, always an object.
  rapidjson::Value& body() { return *body_; }
  const rapidjson::Value& body() const { return *body_; }
  rapidjson::Document::AllocatorType& allocator();

  /// Sets the body's member `key` (replacing it).
  void set(const char* key, rapidjson::Value value);
  void set(const char* key, std::string_view value);
  void set(const char* key, const char* value) { set(key, std::string_view(value)); }
  void set(const char* key, int64_t value) { set(key, rapidjson::Value(value)); }
  void set(const char* key, int value) { set(key, rapidjson::Value(value)); }
  void set(const char* key, double value) { set(key, rapidjson::Value(value)); }
  void set(const char* key, bool value) { set(key, rapidjson::Value(value)); }

 private:
  friend class Decoder;
  struct Storage;
  struct StorageDeleter {
    void operator()(Storage* s) const;
  };

  std::unique_ptr<Storage, StorageDeleter> storage_;  // the body (decoded: and message bytes)
  rapidjson::Value* body_ = nullptr;                  // points into storage_
};

/// Why bytes were not accepted, with whatever could still be read so the caller can answer:
/// a request whose id is readable gets a 4xx response; anything else is logged and dropped.
/// The header fields are read from the DOM when the JSON parsed, else by a lenient scan of the
/// bytes (envelope/salvage.h): whatever the failure, a readable id is kept.
struct DecodeError {
  Status status = Status::kBadRequest;  ///< 400, or 413 for oversize input.
  std::string field;    ///< Dotted path of the offending field ("request.body.actions[0].name").
  std::string message;  ///< What is wrong, for humans.
  std::optional<Kind> kind;
  std::optional<Id> id;
  std::string type;
  std::string sender;
  std::optional<int64_t> timestampMs;  ///< when readable

  std::string describe() const { return field.empty() ? message : field + ": " + message; }
  Error toError() const { return Error(status, message, field); }
};

/// Parses and validates envelopes against the schemas. Cheap to create; not thread-safe (keep
/// one per thread).
class Decoder {
 public:
  explicit Decoder(Limits limits = {}, const SchemaRegistry& registry = SchemaRegistry::embedded());
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  Result<Envelope, DecodeError> decode(std::string_view bytes);
  const Limits& limits() const { return limits_; }

 private:
  /// Steps 2-5 of decode on `env`, parsed: why it is refused, if it is.
  std::optional<DecodeError> checkParsed(Envelope& env);
  Limits limits_;
  const SchemaRegistry& registry_;
  std::unique_ptr<jsonschema::SchemaValidator>
      anyValue_;              // duplicate-key walk for bodies with no schema
  rapidjson::Reader reader_;  // reused: its parse stack keeps its capacity between messages
};

/// Canonical JSON of an envelope (fixed key order, RFC 3339 UTC timestamp, string status code).
std::string encode(const Envelope& envelope);

}  // namespace edgelink::envelope
