#include "core/listen_address.h"

#include <arpa/inet.h>

#include "core/strings.h"

namespace edgelink {

std::string ListenAddress::civetweb() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Result<ListenAddress> parseListenAddress(const std::string& text) {
  const std::string expected =
      "expected ADDRESS:PORT such as 127.0.0.1:9464 or [::1]:9464, got '" + text + "'";
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos) {
    return Error(Status::kBadRequest, expected);
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
    in6_addr a6{};
    if (::inet_pton(AF_INET6, host.c_str(), &a6) != 1) {
      return Error(Status::kBadRequest, "not an IPv6 address in '" + text + "'");
    }
  } else if (host.empty()) {
    host = "0.0.0.0";
  } else {
    in_addr a4{};
    if (::inet_pton(AF_INET, host.c_str(), &a4) != 1) {
      return Error(Status::kBadRequest, "not an IPv4 address (or [IPv6]) in '" + text + "'");
    }
  }
  auto port = parseInt64(text.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) {
    return Error(Status::kBadRequest, "the port must be 0-65535 in '" + text + "'");
  }
  return ListenAddress{host, static_cast<uint16_t>(*port)};
}

}  // namespace edgelink
