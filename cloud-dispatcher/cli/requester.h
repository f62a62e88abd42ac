#pragma once

// The one way the CLI sends a request to an edge (send, session open, session close): LISTEN
// when it will wait, publish to the edge's topic, record the request through the ingest's own
// path (identical rows, whoever is first), wait for the answer through LISTEN/NOTIFY, and read
// the outcome back.

#include <cstdint>
#include <functional>
#include <string>

#include "cli/context.h"
#include "clusters.h"
#include "core/result.h"
#include "db/pg.h"
#include "envelope/envelope.h"
#include "security/ed25519.h"

namespace edgelink::dispatcher {

/// Where a published request went.
struct Published {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestampMs = 0;
};

/// A request from this dispatcher, timestamped now, that says itself until when it may be acted
/// on: an edge that gets it later answers 408 and does nothing, so this dispatcher's 'timeout'
/// means "never acted on".
envelope::Envelope buildRequest(const Context& context, const std::string& id,
                                const std::string& type, const std::string& description);

class Requester {
 public:
  Requester(const Context& context, pg::Connection& db) : c_(context), db_(db) {}

  /// LISTEN (when waiting), publish `bytes` (request `id`) to `edge` on its cluster
  /// (cli/cluster_route.h: an unknown cluster exits kExitUsage), record it, wait up to
  /// `waitSeconds` for the answer. Returns kExitOk (answered, or not waiting), kExitTimeout, or
  /// the exit code of a failure it printed (`onUnpublished` runs first when nothing went out;
  /// what it returns is added to the message).
  int exchange(const std::string& edge, const std::string& id, const std::string& bytes,
               int64_t waitSeconds,
               const std::function<std::string(const Error&)>& onUnpublished = {});
  const Published& published() const { return published_; }

  /// The request as stored (with its answer), or a printed failure (`record` unset).
  int readBack(const std::string& edge, const std::string& id, const std::string& what,
               Record& record) const;

 private:
  /// Publishes, signed with `key` when there is one (sign-requests).
  Result<Published> publish(const std::string& edge, const std::string& bytes,
                            const security::SigningKey* key, const ClusterRoute& route) const;
  VoidResult record(const std::string& edge, const std::string& bytes) const;
  /// Waits for the response to (edge, id) through LISTEN/NOTIFY. true: answered.
  Result<bool> waitForAnswer(const std::string& edge, const std::string& id, int64_t seconds) const;
  Result<bool> answered(const std::string& edge, const std::string& id) const;

  const Context& c_;
  pg::Connection& db_;
  Published published_;
};

/// The exit code of a request read back after an exchange that returned `exchanged`: the
/// answer's (0 for 2xx, kExitFailed otherwise) when it waited and was answered, else
/// `exchanged`.
int outcomeCode(int exchanged, int64_t waitSeconds, const Record& request);

}  // namespace edgelink::dispatcher
