#include "harness/dev_broker_process.h"

#include <signal.h>

#include <stdexcept>

namespace edgelink::testing {

std::string devBrokerPath() {
#ifdef EDGELINK_DEVBROKER_BIN
  return EDGELINK_DEVBROKER_BIN;
#else
  return "devbroker";
#endif
}

DevBrokerProcess::DevBrokerProcess(const std::vector<std::string>& args) {
  SpawnOptions opts;
  opts.argv = {devBrokerPath()};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.pipeStdout = true;
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(p.error().describe());
  }
  proc_ = std::move(*p);
  auto line = readLine(proc_.stdoutFd(), 30000);
  if (!line || line->empty()) {
    throw std::runtime_error("devbroker printed no bootstrap address");
  }
  bootstrap_ = *line;
}

DevBrokerProcess::~DevBrokerProcess() {
  stop();
}

void DevBrokerProcess::setDown(bool down) {
  proc_.signal(down ? SIGUSR1 : SIGUSR2);
}

int DevBrokerProcess::stop() {
  return proc_.valid() ? proc_.terminate(5000) : 0;
}

}  // namespace edgelink::testing
