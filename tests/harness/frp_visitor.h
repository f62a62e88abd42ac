#pragma once

// More real-frp peers for stcp sessions and TLS: a test CA (openssl) whose server certificate
// frps serves, the TCP ports a process listens on (what frps exposes), and a real frpc run on a
// config the test gives (an stcp visitor).

#include <cstdint>
#include <set>
#include <string>

#include "core/subprocess.h"
#include "harness/frp_peers.h"
#include "harness/test_util.h"

namespace edgelink::testing {

/// A CA made with openssl in `dir` and a server certificate it signed for 127.0.0.1 and
/// `serverName` (also localhost).
struct TestCa {
  std::string caFile;  ///< the CA certificate (PEM): what a client trusts
  TlsServerFiles server;
};
/// Makes one under `dir` with file names starting `prefix` (throws with openssl's output).
TestCa makeTestCa(const TempDir& dir, const std::string& prefix,
                  const std::string& serverName = "frps.test");

/// The TCP ports `pid` listens on (IPv4 and IPv6), from /proc.
std::set<uint16_t> listeningPorts(int pid);

/// Real frpc on `configPath` (e.g. an stcp visitor), output to its own log; stopped on
/// destruction.
class FrpcProcess {
 public:
  explicit FrpcProcess(const std::string& configPath);
  ~FrpcProcess();
  FrpcProcess(const FrpcProcess&) = delete;
  FrpcProcess& operator=(const FrpcProcess&) = delete;

  /// Waits until 127.0.0.1:`port` accepts (a visitor's bindPort); false when frpc exited first
  /// or the bound passed.
  bool waitListening(uint16_t port, int timeoutMs = 20000);
  bool running();
  std::string log() const { return readText(logPath_); }

 private:
  std::string logPath_;
  Subprocess proc_;
};

}  // namespace edgelink::testing
