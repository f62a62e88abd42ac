#pragma once

// stcp sessions on the operator's side (pure): the per-session secret and the frpc visitor config
// a maintainer runs (`frpc -c visitor.toml`) to reach the edge's services on 127.0.0.1.

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "domain/frps_plugin.h"
#include "domain/sessions.h"
#include "domain/visitor_proof.h"
#include "options.h"

namespace edgelink::dispatcher {

/// The first local port a visitor listens on (one per service, in the session's order).
inline constexpr int kDefaultVisitorBindPort = 6000;

/// A new stcp secret: 32 bytes from the kernel's CSPRNG, base64url (43 characters). Error 500
/// when the kernel gives none.
Result<std::string> newStcpSecret();

/// Where the visitor config points frpc for what the dispatcher does not hand out.
struct VisitorSettings {
  std::string frpsHost;
  int frpsPort = 7000;
  std::string tokenFile = "frps-token";  ///< read by frpc (auth.tokenSource), never printed
  std::string caFile;                    ///< verify frps against it (empty: not verified)
  int firstBindPort = kDefaultVisitorBindPort;
};

/// Each service's visitor port on 127.0.0.1: firstBindPort + its index in `services`' order.
std::vector<std::pair<std::string, int>> visitorPorts(const Services& services, int firstBindPort);

/// The frpc TOML of a visitor for every service of an stcp session on `edgeId`: serverAddr,
/// serverPort, the token from a file, TLS, the metadatas frps's plugin reads (edge, session id,
/// visitorProof), and a `[[visitors]]` (type stcp, serverName
/// "<edge>.<service>", the secret, bindAddr 127.0.0.1) per service.
std::string visitorConfig(const VisitorSettings& settings, const std::string& edgeId,
                          int64_t sessionId, const Services& services, const std::string& secret);

/// How to connect once the visitor runs: "ssh: ssh -p 6000 root@127.0.0.1" per service.
std::string visitorHints(const Options& options, const Services& services, int firstBindPort);

}  // namespace edgelink::dispatcher
