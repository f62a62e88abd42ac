#pragma once

// An address to listen on, as an operator writes it in a config ("127.0.0.1:9464"), parsed
// strictly: an IP address (never a host name: an address to bind, not to resolve) and a port.

#include <cstdint>
#include <string>

#include "core/result.h"

namespace edgelink {

/// Where an HTTP endpoint listens (the dispatcher's metrics and health): an IP address and a port
/// (0: any free one).
struct ListenAddress {
  std::string host;  ///< "127.0.0.1", "0.0.0.0", "::1" (no brackets)
  uint16_t port = 0;
  /// As civetweb's listening_ports wants it: "127.0.0.1:9464", "[::1]:9464".
  std::string civetweb() const;
};

/// Parses "127.0.0.1:9464", "0.0.0.0:9464", "[::1]:9464" or ":9464" (every IPv4 address).
/// Host names are refused (an address to bind, not to resolve). Error names what is wrong.
Result<ListenAddress> parseListenAddress(const std::string& text);

}  // namespace edgelink
