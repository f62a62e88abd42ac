#pragma once

// The real frp peers and the services a tunnel reaches, for tests on loopback: real frps and
// frpc (the version tools/frp/go.mod pins, built by scripts/bootstrap into the cache), a TCP
// echo service and a throwaway OpenSSH server. Every process started here is owned (RAII: stopped
// on destruction, never orphaned: they die with the test through PR_SET_PDEATHSIG). Failures are
// exceptions with a message saying what to do (Catch reports them).

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/subprocess.h"
#include "harness/test_util.h"

namespace edgelink::testing {

/// The frp release the tests run (from tools/frp/go.mod at build time), e.g. "v0.70.1".
std::string frpVersion();
/// Where scripts/bootstrap puts frpc and frps ($EDGELINK_CACHE/frp-<version>/bin, as
/// scripts/lib/peers.sh says; fixed at build time).
std::string frpBinDir();
/// Paths of real frpc / frps; throw "real frpc not found at X: run scripts/bootstrap" when
/// the binary is missing (a test needing real frp fails, it never skips).
std::string realFrpcPath();
std::string realFrpsPath();

/// What a finished command did.
struct CommandResult {
  int status = -1;     ///< wait status (-1: killed after the timeout)
  std::string output;  ///< stdout and stderr, interleaved
  bool ok() const { return status == 0; }
  int exitCode() const;  ///< exit code, or 128 + signal, or -1
};
/// Runs a program to completion (killed after `timeoutMs`), capturing stdout and stderr.
CommandResult runCommand(const std::vector<std::string>& argv, int timeoutMs = 30000,
                         const std::vector<std::string>& extraEnv = {});

/// True when a TCP connection to 127.0.0.1:`port` is accepted / refused right now.
bool tcpAccepts(uint16_t port);
bool tcpRefused(uint16_t port);
/// Connects to 127.0.0.1:`port`, sends `payload`, reads until as many bytes came back, the peer
/// closed, or `timeoutMs` passed: what came back (nullopt when the connection failed).
std::optional<std::string> exchange(uint16_t port, const std::string& payload,
                                    int timeoutMs = 5000);

/// Pids of live processes with `arg` as one of their arguments (e.g. an frpc config path: the
/// frpc processes of one agent).
std::vector<int> processesWithArg(const std::string& arg);

/// A TCP socket listening on 127.0.0.1 (a free port) that accepts nothing: a "non-frp program"
/// holding a port.
class PortSquatter {
 public:
  explicit PortSquatter(uint16_t port = 0);
  ~PortSquatter();
  PortSquatter(const PortSquatter&) = delete;
  PortSquatter& operator=(const PortSquatter&) = delete;
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

/// A TCP echo service on 127.0.0.1 (a free port), served by a thread of the test.
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;
  uint16_t port() const { return port_; }
  /// Connections accepted so far.
  int connections() const { return connections_; }

 private:
  void run();

  int listenFd_ = -1;
  int wakeRead_ = -1;
  int wakeWrite_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

/// A TLS server's certificate and key (PEM paths); empty: no TLS of its own.
struct TlsServerFiles {
  std::string certFile;
  std::string keyFile;
};

struct FrpsOptions {
  std::string token = "test-token";
  /// frps's allowPorts as TOML, e.g. "[{ single = 31022 }]"; empty: every port.
  std::string allowPorts;
  /// An [[httpPlugins]] entry for ops Login and NewProxy: "127.0.0.1:PORT" (empty: none) and
  /// the path frps posts to.
  std::string pluginAddr;
  std::string pluginPath = "/frps-plugin";
  /// frps's own TLS certificate and key (PEM files, e.g. from makeTestCa): set, frps serves
  /// them and refuses clients without TLS (transport.tls.force).
  TlsServerFiles tls;
};

/// Real frps on 127.0.0.1 (a free bind port; proxies bind on 127.0.0.1 too).
class FrpsProcess {
 public:
  /// Starts frps and waits until its bind port accepts connections (throws otherwise).
  explicit FrpsProcess(FrpsOptions options = {});
  ~FrpsProcess();
  FrpsProcess(const FrpsProcess&) = delete;
  FrpsProcess& operator=(const FrpsProcess&) = delete;

  uint16_t port() const { return port_; }
  const std::string& token() const { return options_.token; }
  int pid() const { return proc_.pid(); }
  /// SIGTERM and wait (proxies' remote ports close with it).
  void stop();
  /// Starts it again on the same port and config.
  void start();
  std::string log() const { return readText(dir_.file("frps.log")); }

 private:
  FrpsOptions options_;
  TempDir dir_;
  uint16_t port_ = 0;
  Subprocess proc_;
};

/// A throwaway OpenSSH server (/usr/sbin/sshd -D -e -f its own config) on 127.0.0.1 (a free
/// port): its own host key, one authorized key made here, root by key only, StrictModes no.
/// Needs root (as the tests run) and creates /run/sshd (sshd's privilege separation directory,
/// which its systemd unit would make) when missing.
class SshServer {
 public:
  SshServer();
  ~SshServer();
  SshServer(const SshServer&) = delete;
  SshServer& operator=(const SshServer&) = delete;

  uint16_t port() const { return port_; }
  /// The client's private key (authorized on this server).
  std::string clientKey() const { return dir_.file("client_key"); }
  /// `ssh -p PORT -i KEY ... root@127.0.0.1 COMMAND`: PORT is the server's own or a tunnel's.
  CommandResult ssh(uint16_t port, const std::string& command, int timeoutMs = 30000) const;
  std::string log() const { return readText(dir_.file("sshd.log")); }

 private:
  TempDir dir_;
  uint16_t port_ = 0;
  Subprocess proc_;
};

}  // namespace edgelink::testing
