#pragma once

// The web console's way into an stcp session: a real frpc visitor (the config `sessions show ID
// --visitor` prints, cli/visitor.h) for the session's ssh service, bound to a free 127.0.0.1
// port, in a private temporary directory (0700, the config with the session's secret 0600).
// RAII: the destructor stops frpc (SIGTERM, then SIGKILL) and removes the directory.
//
// frpc dies with the thread that started it (PR_SET_PDEATHSIG, core/subprocess.h): start and
// destroy a visitor on the one thread that uses it (the terminal's own thread).

#include <cstdint>
#include <memory>
#include <string>

#include "cli/visitor.h"
#include "core/result.h"
#include "core/subprocess.h"

namespace edgelink::dispatcher::web {

struct StcpVisitorSettings {
  std::string frpcPath = "frpc";  ///< the frpc binary (a path, or looked up in PATH)
  VisitorSettings visitor;        ///< frps host/port, token file, CA (firstBindPort is ignored)
  int startTimeoutMs = 20000;     ///< how long frpc may take until its port accepts
};

class StcpVisitor {
 public:
  /// Starts frpc visiting `service` ("ssh") of stcp session `sessionId` on `edgeId` with the
  /// session's `secret`, and waits until its port accepts connections. Errors: 503 when frpc
  /// exits or its port does not accept in time (the message has frpc's last log lines), 500 when
  /// the directory or config cannot be written or frpc cannot be started.
  static Result<std::unique_ptr<StcpVisitor>> start(const StcpVisitorSettings& settings,
                                                    const std::string& edgeId, int64_t sessionId,
                                                    const std::string& secret,
                                                    const std::string& service = "ssh");
  ~StcpVisitor();
  StcpVisitor(const StcpVisitor&) = delete;
  StcpVisitor& operator=(const StcpVisitor&) = delete;

  /// The 127.0.0.1 port the visitor listens on.
  int port() const { return port_; }
  /// frpc's process id (tests).
  int pid() const { return proc_.pid(); }
  /// The private directory (tests check its modes).
  const std::string& dir() const { return dir_; }

 private:
  StcpVisitor() = default;

  std::string dir_;
  int port_ = 0;
  Subprocess proc_;
};

}  // namespace edgelink::dispatcher::web
