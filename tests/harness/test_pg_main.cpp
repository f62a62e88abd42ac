// test-pg start|stop FILE: starts (or stops) the throwaway PostgreSQL cluster shared by one
// ctest run. `start` first stops a cluster left behind by an interrupted run.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "core/atomic_file.h"
#include "harness/pg_cluster.h"
#include "harness/test_util.h"

int main(int argc, char** argv) {
  using namespace edgelink::testing;
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::fprintf(stderr, "usage: test-pg start|stop FILE\n");
    return 2;
  }
  const std::string file = argv[2];
  try {
    if (auto old = PgCluster::attach(file)) {
      // attach() never owns; stop explicitly, then clean up its directory.
      old->stop();
      removeTree(old->dir());
    }
    ::remove(file.c_str());
    if (std::string(argv[1]) == "stop") {
      std::printf("test-pg: stopped\n");
      return 0;
    }
    // The cluster lives in a temp dir (the server's user must be able to reach it; a build
    // tree under /root would not do); only the env file goes next to the tests.
    auto dir = file.substr(0, file.rfind('/'));
    if (auto r = edgelink::makeDirs(dir, 0755); !r) {
      throw std::runtime_error(r.error().describe());
    }
    auto cluster = PgCluster::start();
    cluster->writeEnvFile(file);
    cluster->detach();
    std::printf("test-pg: PostgreSQL on 127.0.0.1:%u (%s)\n", cluster->port(),
                cluster->dir().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "test-pg: %s\n", e.what());
    return 1;
  }
}
