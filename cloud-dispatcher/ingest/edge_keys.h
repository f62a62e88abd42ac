#pragma once

// The edges' registered public keys for the ingest's signature check (domain/signatures.h), held
// in memory and read from the edges table: an edge's key is read the first time one of its
// answers is checked, again when it is older than kEdgeKeyMaxAgeMs, and at once when an answer
// names a key id the cache does not hold. `edges add --key` / `edges set-key` mark the change in
// dispatcher_settings (edge_keys_changed), which the consumer reads once per poll: a message
// polled after the change is checked against the new key. Answers that verify cost no query.
// Thread-safe: the consumers and the writers' isolation path share one.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "db/pg.h"
#include "domain/signatures.h"
#include "options.h"

namespace edgelink::dispatcher {

inline constexpr int64_t kEdgeKeyMaxAgeMs = 30000;
/// An edge without a key accepts unsigned answers (require-signed-answers off) only while what
/// the cache knows is at most this old.
inline constexpr int64_t kEdgeNoKeyMaxAgeMs = 5000;
/// The dispatcher_settings key `edges add --key` and `edges set-key` update.
inline constexpr const char* kEdgeKeysChangedSetting = "edge_keys_changed";

class EdgeKeyCache : public SignatureCheck {
 public:
  /// `stop` (may be null) ends the wait for an unreachable database.
  EdgeKeyCache(const Options& options, const Clock& clock, const std::atomic<bool>* stop = nullptr)
      : options_(options), clock_(clock), stop_(stop) {}

  /// Forgets every key when `edges add --key` / `edges set-key` changed one since the last call
  /// (one single-row query: the consumer calls it once per poll, before checking its messages).
  void refreshIfChanged();

  AnswerVerdict check(const std::string& edge, std::string_view topic, std::string_view value,
                      const security::FoundHeaders& headers) const override;

 private:
  struct Entry {
    std::optional<security::PublicKey> key;
    int64_t loadedMs = 0;
    std::string lastUnknownKeyId;  ///< a key id looked up since the last load
  };
  /// Reads the edge's key (retrying while the database is unreachable, until `stop`).
  Entry& load(const std::string& edge) const;
  Result<std::optional<security::PublicKey>> query(const std::string& edge) const;

  const Options& options_;
  const Clock& clock_;
  const std::atomic<bool>* stop_;
  mutable std::mutex mutex_;
  mutable std::unique_ptr<pg::Connection> db_;
  mutable std::unordered_map<std::string, Entry> entries_;
  std::string version_;  ///< dispatcher_settings' edge_keys_changed, as last read
};

}  // namespace edgelink::dispatcher
