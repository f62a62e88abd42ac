#include "shell/frpc_supervisor.h"

#include "admin_api.h"
#include "core/atomic_file.h"
#include "core/logging.h"
#include "core/subprocess.h"
#include "frpc_config.h"

namespace edgelink::agent {

namespace {

constexpr int kAdminTimeoutMs = 300;

const auto& frpcLogger() {
  static const auto l = log::get("frpc");
  return l;
}

std::string dirOf(const std::string& path) {
  auto slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

}  // namespace

VoidResult FrpcSupervisor::writeConfig(const Session& session) {
  adminPassword_ = randomPassword(24);
  if (adminPassword_.size() != 24) {
    return Error(Status::kInternal, "cannot read /dev/urandom for frpc's admin password");
  }
  auto text = renderFrpcConfig(config_.format, frpcSettings(config_, adminUser_, adminPassword_),
                               session.proxies());
  if (!text) {
    return Error(Status::kInternal, "cannot write the frpc config: " + text.error().message);
  }
  if (auto r = makeDirs(dirOf(config_.frpcConfigPath), 0700); !r) {
    return Error(Status::kInternal, "cannot write the frpc config: " + r.error().describe());
  }
  if (auto r = writeFileAtomic(config_.frpcConfigPath, *text, 0600); !r) {
    return Error(Status::kInternal, "cannot write the frpc config: " + r.error().describe());
  }
  return {};
}

VoidResult FrpcSupervisor::start() {
  if (config_.options.frpcVerify) {
    if (auto r = verifyConfig(config_.options.frpcPath, config_.frpcConfigPath,
                              static_cast<int>(config_.options.frpcStartTimeout * 1000));
        !r) {
      return r;
    }
  }
  auto proc = FrpcProcess::start(config_.options.frpcPath, config_.frpcConfigPath);
  if (!proc) {
    return Error(Status::kInternal, proc.error().describe());
  }
  proc_ = std::move(*proc);
  return {};
}

void FrpcSupervisor::serveOutput() {
  if (!proc_) {
    return;
  }
  proc_->readOutput([](const std::string& line) {
    bool problem = line.find("[W]") != std::string::npos || line.find("[E]") != std::string::npos;
    frpcLogger()->log(problem ? spdlog::level::warn : spdlog::level::debug, "{}", line);
  });
}

std::optional<std::string> FrpcSupervisor::exited() {
  if (!proc_) {
    return std::nullopt;
  }
  auto status = proc_->tryWait();
  if (!status) {
    return std::nullopt;
  }
  return describeWaitStatus(*status);
}

std::string FrpcSupervisor::lastLines(size_t n) {
  if (!proc_) {
    return {};
  }
  proc_->readOutput({});
  return proc_->lastLines(n);
}

Result<ProxyStatuses> FrpcSupervisor::proxyStatus() {
  return fetchProxyStatus(static_cast<uint16_t>(config_.options.frpcAdminPort), adminUser_,
                          adminPassword_, kAdminTimeoutMs);
}

FrpcEnd FrpcSupervisor::stop(size_t lines) {
  FrpcEnd end;
  if (!proc_) {
    return end;
  }
  end.pid = proc_->pid();
  end.waitStatus =
      describeWaitStatus(proc_->stop(static_cast<int>(config_.options.frpcStopGrace * 1000)));
  serveOutput();
  end.output = lastLines(lines);
  proc_.reset();
  return end;
}

FrpcEnd FrpcSupervisor::reap(size_t lines) {
  FrpcEnd end;
  if (!proc_) {
    return end;
  }
  end.pid = proc_->pid();
  end.waitStatus = exited().value_or("still running");
  serveOutput();
  end.output = lastLines(lines);
  proc_.reset();
  return end;
}

}  // namespace edgelink::agent
