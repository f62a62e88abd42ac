#pragma once

// What the web console's integration tests share: the port a daemon's log says the console
// listens on, and a web user added through the real `users add`.

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "dispatcher_harness.h"
#include "harness/test_util.h"

namespace edgelink::testing {

/// The port daemon `daemon`'s log names ("web console on http://127.0.0.1:PORT/"); 0 when it
/// does not within 30 s.
inline int consolePort(DispatcherHarness& h, size_t daemon = 0) {
  int port = 0;
  waitUntil(
      [&] {
        const std::string log = h.daemonLog(daemon);
        const std::string marker = "web console on http://127.0.0.1:";
        const size_t at = log.find(marker);
        port = at == std::string::npos ? 0 : std::atoi(log.c_str() + at + marker.size());
        return port != 0;
      },
      30000);
  return port;
}

/// `users add NAME --role ROLE --password-file F` (F 0600), required to succeed.
inline void addWebUser(DispatcherHarness& h, const std::string& name, const std::string& role,
                       const std::string& password) {
  const std::string file = h.dir().file(name + ".password");
  writeText(file, password + "\n");
  ::chmod(file.c_str(), 0600);
  auto r = h.cli({"users", "add", name, "--role", role, "--password-file", file});
  INFO(r.err);
  REQUIRE(r.code == 0);
}

}  // namespace edgelink::testing
