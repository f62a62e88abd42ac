#pragma once

// Shared by the dispatcher's benchmarks: a migrated database, timing, process CPU.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "db/pg.h"
#include "kafka/client.h"
#include "options.h"

namespace edgelink::bench {

using SteadyClock = std::chrono::steady_clock;

inline double secondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

/// Connects and migrates; exits the process with a message on failure.
std::unique_ptr<dispatcher::pg::Connection> migratedDb(const std::string& conninfo);

/// Runs one statement; exits the process with a message on failure.
dispatcher::pg::Rows mustExec(dispatcher::pg::Connection& db, const std::string& sql);

/// A producer for bulk loads (batching, big queue, patient timeouts); exits on failure.
std::unique_ptr<kafka::Producer> bulkProducer(const std::string& bootstrap);

/// This process's CPU time (user + system), seconds.
double selfCpuSeconds();

/// Fails loudly: throws, so that guardedMain() unwinds (stopping the throwaway PostgreSQL and dev
/// broker) and exits 1 with the message.
[[noreturn]] void die(const std::string& message);
int guardedMain(const std::function<int()>& body);

}  // namespace edgelink::bench
