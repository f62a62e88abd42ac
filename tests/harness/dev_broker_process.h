#pragma once

#include <string>
#include <vector>

#include "core/subprocess.h"

namespace edgelink::testing {

/// The dev broker (tools/devbroker) as a real process on 127.0.0.1, for one test.
/// Stopped (SIGTERM) on destruction.
class DevBrokerProcess {
 public:
  /// Starts it with extra arguments (e.g. {"--topic", "edge.t1:1"}); throws on failure.
  explicit DevBrokerProcess(const std::vector<std::string>& args = {});
  ~DevBrokerProcess();
  DevBrokerProcess(const DevBrokerProcess&) = delete;
  DevBrokerProcess& operator=(const DevBrokerProcess&) = delete;

  /// bootstrap.servers for clients.
  const std::string& bootstrap() const { return bootstrap_; }
  /// Simulates a broker outage (true) or its end (false).
  void setDown(bool down);
  int pid() const { return proc_.pid(); }
  /// Stops the broker (SIGTERM) and returns its wait status.
  int stop();

 private:
  Subprocess proc_;
  std::string bootstrap_;
};

/// Path of the devbroker binary (set at build time).
std::string devBrokerPath();

}  // namespace edgelink::testing
