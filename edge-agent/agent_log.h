#pragma once

// The agent's logger ("agent"), looked up once for every file of the daemon that logs as it.

#include <memory>

#include "core/logging.h"

namespace edgelink::agent {

inline const std::shared_ptr<spdlog::logger>& agentLogger() {
  static const auto l = log::get("agent");
  return l;
}

}  // namespace edgelink::agent
