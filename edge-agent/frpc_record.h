#pragma once

// The frpc process serving the session as the state file records it: plain data, so the state
// file needs nothing of the process handling (frpc_process.h).

#include <cstdint>

namespace edgelink::agent {

/// The frpc process serving the session, recorded so that a restarted agent can find and end a
/// leftover one (after checking /proc that it is really that process).
struct FrpcRecord {
  int pid = 0;
  uint64_t startTicks = 0;  ///< /proc/<pid>/stat field 22
};

}  // namespace edgelink::agent
