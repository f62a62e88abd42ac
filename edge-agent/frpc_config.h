#pragma once

// The frpc configuration file, generated (never templated by pasting strings): every value is
// written through the format's own quoting, and anything frp would interpret (Go template
// actions "{{", go-ini's "%(name)s" references, line breaks) is refused rather than written.
// Remote ports come from a request; everything else from the agent's own configuration.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent_config.h"
#include "core/result.h"
#include "frpc_format.h"

namespace edgelink::agent {

/// One proxy of the session: a named service of the agent exposed on a remote port of frps
/// (tcp), or with no public port to visitors presenting the session's secret (stcp).
struct ProxySpec {
  std::string service;  ///< the agent's service name ("ssh")
  std::string name;     ///< frp's proxy name, unique on frps: "<edge_id>.<service>"
  std::string localIp;
  uint16_t localPort = 0;
  uint16_t remotePort = 0;     ///< tcp only
  std::string secretKey = {};  ///< stcp: the session's secret (never logged); empty: tcp
};

/// Everything of the frpc config that does not come from the request.
struct FrpcSettings {
  std::string serverAddr;
  uint16_t serverPort = 7000;
  std::string token;  ///< may be empty (frps without auth.token)
  std::string adminAddr = "127.0.0.1";
  uint16_t adminPort = 7400;
  std::string adminUser;
  std::string adminPassword;
  std::optional<bool> tls;       ///< TLS to frps; nullopt leaves frpc's default
  std::string tlsTrustedCaFile;  ///< verify frps's certificate against this CA (empty: no check)
  std::string tlsServerName;     ///< the name frps's certificate must carry (empty: serverAddr)
  /// Written as frpc metadata (kEdgeMetaKey) on the client and on every proxy: the dispatcher's
  /// frps plugin allows only a proxy whose edge has a session on its remote port. Empty: none.
  std::string edgeId;
};

/// The frpc metadata key naming the edge (the dispatcher's frps plugin reads it).
inline constexpr const char* kEdgeMetaKey = "edgelink_edge";

/// The proxy name of a service: "<edge_id>.<service>" (frp proxy names are global on frps).
std::string proxyName(const std::string& edgeId, const std::string& service);

/// The whole frpc config. Every string is checked with checkFrpcString; proxies must be
/// non-empty with unique names. Errors are 500s (the agent's own config cannot be written).
Result<std::string> renderFrpcConfig(FrpcFormat format, const FrpcSettings& settings,
                                     const std::vector<ProxySpec>& proxies);

/// Settings from the agent's config (admin credentials given by the caller: per session).
FrpcSettings frpcSettings(const AgentConfig& config, std::string adminUser,
                          std::string adminPassword);

/// A random password of [A-Za-z0-9] from the kernel's CSPRNG.
std::string randomPassword(size_t length);

}  // namespace edgelink::agent
