#pragma once

// `session open` refuses edges the dispatcher does not know and edges offline by their
// heartbeats (issue #9 item 4). Tests about sessions, not about that, make their edges known and
// online first, as the daemon records them when a heartbeat arrives.

#include <string>

#include "dispatcher_harness.h"

namespace edgelink::testing {

/// Records `edge` as known with a heartbeat just now.
inline void markOnline(DispatcherHarness& h, const std::string& edge) {
  h.sql(
      "INSERT INTO edges (edge_id, first_seen_at, last_heartbeat_at) VALUES ('" + edge +
      "', now(), now()) ON CONFLICT (edge_id) DO UPDATE SET last_heartbeat_at = now() RETURNING 1");
}

}  // namespace edgelink::testing
