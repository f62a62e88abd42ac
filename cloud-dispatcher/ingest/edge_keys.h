#pragma once

// The edges' registered public keys for the ingest's signature check (domain/signatures.h), held
// in memory: every key is read in one query (edges.public_key), and read again when `edges add
// --key` / `edges set-key` changed one. Those mark the change in dispatcher_settings
// (edge_keys_changed), which the consumer reads once per poll (one single-row query), so a
// message polled after the change is checked against the new key. Checking an answer costs no
// query. Thread-safe: the consumers and the writers' isolation path share one.

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/clock.h"
#include "db/pg.h"
#include "domain/signatures.h"
#include "ingest/request_keys.h"
#include "options.h"

namespace edgelink::dispatcher {

/// The dispatcher_settings key `edges add --key` and `edges set-key` update.
inline constexpr const char* kEdgeKeysChangedSetting = "edge_keys_changed";
/// Keys are read again at least this often even with no change marked (rows edited by hand).
inline constexpr int64_t kEdgeKeysMaxAgeMs = 10 * 60 * 1000;

class EdgeKeyCache : public SignatureCheck {
 public:
  /// `stop` (may be null) ends the wait for an unreachable database.
  EdgeKeyCache(const Options& options, const Clock& clock, const std::atomic<bool>* stop = nullptr)
      : options_(options),
        clock_(clock),
        stop_(stop),
        requestKeys_(loadTrustedRequestKeys(options.signingKeyDir, options.requestSigningKeys)) {}

  /// Reads the keys again when a change was marked since the last read (or they are older than
  /// kEdgeKeysMaxAgeMs). A database that does not answer leaves the keys as they were.
  void refreshIfChanged();

  AnswerVerdict check(const std::string& edge, std::string_view topic, std::string_view value,
                      const security::FoundHeaders& headers) const override;
  /// Against the keys of signing-key-dir, read at construction (immutable: no lock).
  security::Verification checkRequest(std::string_view topic, std::string_view value,
                                      const security::FoundHeaders& headers) const override {
    return requestKeys_.verify(topic, value, headers);
  }

 private:
  VoidResult connect() const;
  /// Reads the change mark and, when it moved (or `force`), every key.
  VoidResult reload(bool force) const;

  const Options& options_;
  const Clock& clock_;
  const std::atomic<bool>* stop_;
  const security::KeyRing requestKeys_;
  mutable std::mutex mutex_;
  mutable std::unique_ptr<pg::Connection> db_;
  /// edge -> its key (nullopt: a stored key that does not parse; every answer is refused).
  mutable std::unordered_map<std::string, std::optional<security::PublicKey>> keys_;
  mutable bool loaded_ = false;
  mutable int64_t loadedMs_ = 0;
  mutable std::string version_;  ///< edge_keys_changed as last read
};

}  // namespace edgelink::dispatcher
