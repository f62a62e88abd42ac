#include "cli/visitor.h"

#include <fcntl.h>
#include <unistd.h>

namespace edgelink::dispatcher {
namespace {

/// A TOML basic string (the values here are host names, paths, ids and base64url).
std::string quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::string> newStcpSecret() {
  std::string bytes(32, '\0');
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  size_t got = 0;
  while (fd >= 0 && got < bytes.size()) {
    ssize_t n = ::read(fd, &bytes[got], bytes.size() - got);
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  if (fd >= 0) {
    ::close(fd);
  }
  if (got < bytes.size()) {
    return Error(Status::kInternal, "cannot read 32 random bytes from /dev/urandom");
  }
  return base64Url(bytes);
}

std::vector<std::pair<std::string, int>> visitorPorts(const Services& services, int firstBindPort) {
  std::vector<std::pair<std::string, int>> out;
  for (const auto& entry : services) {
    out.emplace_back(entry.first, firstBindPort + static_cast<int>(out.size()));
  }
  return out;
}

std::string visitorConfig(const VisitorSettings& s, const std::string& edgeId, int64_t sessionId,
                          const Services& services, const std::string& secret) {
  std::string out = "# frpc visitor for stcp session " + std::to_string(sessionId) + " on edge " +
                    edgeId + ": frpc -c THIS_FILE\n";
  out += "# It holds the session's secret: keep it to yourself (chmod 600), delete it after.\n";
  out += "serverAddr = " + quoted(s.frpsHost) + "\n";
  out += "serverPort = " + std::to_string(s.frpsPort) + "\n";
  out += "loginFailExit = true\n";
  out += "auth.method = \"token\"\n";
  out += "# frps's token, read from this file (one line)\n";
  out += "auth.tokenSource.type = \"file\"\n";
  out += "auth.tokenSource.file.path = " + quoted(s.tokenFile) + "\n";
  out += "transport.tls.enable = true\n";
  if (!s.caFile.empty()) {
    out += "transport.tls.trustedCaFile = " + quoted(s.caFile) + "\n";
  }
  // Who this visitor is, for frps's server plugin (domain/visitor_proof.h): frps's token alone
  // does not let a client log in as a visitor.
  const std::string session = std::to_string(sessionId);
  out += std::string("metadatas.") + kFrpEdgeMetaKey + " = " + quoted(edgeId) + "\n";
  out += std::string("metadatas.") + kFrpSessionMetaKey + " = " + quoted(session) + "\n";
  out += std::string("metadatas.") + kFrpProofMetaKey + " = " +
         quoted(visitorProof(secret, edgeId, session)) + "\n";
  for (const auto& [service, port] : visitorPorts(services, s.firstBindPort)) {
    out += "\n[[visitors]]\n";
    out += "name = " + quoted(edgeId + "." + service + ".visitor") + "\n";
    out += "type = \"stcp\"\n";
    out += "serverName = " + quoted(edgeId + "." + service) + "\n";
    out += "secretKey = " + quoted(secret) + "\n";
    out += "bindAddr = \"127.0.0.1\"\n";
    out += "bindPort = " + std::to_string(port) + "\n";
  }
  return out;
}

std::string visitorHints(const Options& options, const Services& services, int firstBindPort) {
  std::string first;
  std::string rest;
  for (const auto& [name, port] : visitorPorts(services, firstBindPort)) {
    std::string line = name + ": " + options.connectHint(name, port, "127.0.0.1") + "\n";
    (name == "ssh" ? first : rest) += line;
  }
  return first + rest;
}

}  // namespace edgelink::dispatcher
