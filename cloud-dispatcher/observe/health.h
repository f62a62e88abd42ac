#pragma once

// What /healthz and /readyz answer from: facts the daemon's threads set (atomics), read by the
// HTTP server's threads, which never touch a Kafka or PostgreSQL handle themselves.

#include <atomic>
#include <cstdint>
#include <string>

namespace edgelink::dispatcher {

struct Health {
  /// Partitions assigned to this dispatcher's consumers (0: none, not ready).
  std::atomic<int64_t> assignedPartitions{0};
  /// The last periodic query (or the daemon's housekeeping connection) reached PostgreSQL.
  std::atomic<bool> databaseReachable{false};
  /// The database's schema version is this binary's.
  std::atomic<bool> schemaCurrent{false};

  bool ready() const { return assignedPartitions > 0 && databaseReachable && schemaCurrent; }
  /// One line per fact, for /readyz's body: "kafka: 3 partitions assigned\n...".
  std::string describe() const;
};

}  // namespace edgelink::dispatcher
