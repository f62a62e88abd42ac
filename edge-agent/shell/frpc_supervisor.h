#pragma once

// frpc as the agent's shell sees it: one process at a time, started for a session on a freshly
// written config (a random admin password per start), its admin API, its exit, its stop. The
// FrpcControl interface is the seam in front of the real process (FrpcSupervisor).

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "agent_config.h"
#include "core/result.h"
#include "decisions/actions.h"
#include "decisions/session.h"
#include "decisions/start_check.h"
#include "frpc_process.h"

namespace edgelink::agent {

class FrpcControl {
 public:
  virtual ~FrpcControl() = default;
  /// Writes the session's config (a new random admin password each time); an error (500) when
  /// it cannot be rendered or written.
  virtual VoidResult writeConfig(const Session& session) = 0;
  /// Starts frpc on the config written last (after `frpc verify` when configured). An error
  /// (500) when any step fails; nothing is left running then.
  virtual VoidResult start() = 0;
  virtual bool active() const = 0;
  virtual int pid() const = 0;
  virtual FrpcRecord record() const = 0;
  /// The output pipe for the main loop's poll(), -1 when there is none.
  virtual int outputFd() const = 0;
  /// Logs what frpc printed since the last call.
  virtual void serveOutput() = 0;
  /// Its wait status, described, once it has exited (reaped); nullopt while it runs.
  virtual std::optional<std::string> exited() = 0;
  /// The last `n` lines it printed (after reading what is left).
  virtual std::string lastLines(size_t n) = 0;
  /// Each proxy's status from frpc's admin API (bounded, loopback).
  virtual Result<ProxyStatuses> proxyStatus() = 0;
  /// Stops it (SIGTERM, SIGKILL after the grace period) and forgets it.
  virtual FrpcEnd stop(size_t lines) = 0;
  /// Forgets an frpc that has exited on its own.
  virtual FrpcEnd reap(size_t lines) = 0;
};

class FrpcSupervisor final : public FrpcControl {
 public:
  explicit FrpcSupervisor(const AgentConfig& config) : config_(config) {}

  VoidResult writeConfig(const Session& session) override;
  VoidResult start() override;
  bool active() const override { return proc_ != nullptr; }
  int pid() const override { return proc_ ? proc_->pid() : 0; }
  FrpcRecord record() const override { return proc_ ? proc_->record() : FrpcRecord{}; }
  int outputFd() const override { return proc_ ? proc_->outputFd() : -1; }
  void serveOutput() override;
  std::optional<std::string> exited() override;
  std::string lastLines(size_t n) override;
  Result<ProxyStatuses> proxyStatus() override;
  FrpcEnd stop(size_t lines) override;
  FrpcEnd reap(size_t lines) override;

 private:
  const AgentConfig& config_;
  std::unique_ptr<FrpcProcess> proc_;
  std::string adminUser_ = "edge-agent";
  std::string adminPassword_;
};

}  // namespace edgelink::agent
