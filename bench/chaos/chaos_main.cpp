// bench_chaos: the whole system under faults drawn from a seed, then the invariants.
//
//   bench_chaos [--quick] [--seed S] [--minutes M] [--dispatchers N] [--agents N]
//               [--sim-edges N] [--rate R] [--outage-seconds S] [--mean-gap-seconds S]
//               [--drain-seconds S]
//
// Several dispatchers in one consumer group on a private real Kafka broker and a private
// PostgreSQL; real agents with real frpc toward a real frps; the edge simulator for the rest of
// the fleet; a web backend publishing pings, system_info, frp starts and stops. Faults at
// moments drawn from the seed (each logged with its time): kill -9 of a dispatcher and of an
// agent (both started again), kill -9 of the broker (started again), PostgreSQL fast restart and
// outage, frps restart, and the first dispatcher's link to PostgreSQL cut or slowed (FaultProxy).
// After a quiet drain, the checker (check.cpp) reads PostgreSQL, the agents' frpc and the process
// table. Exit status 1 on any violation; `--seed S` replays a run.
//
// The harness reports timeouts through Catch: its implementation is compiled here (no Catch
// session runs).
#define CATCH_CONFIG_RUNNER
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <map>

#include "chaos.h"
#include "core/logging.h"
#include "e2e_common.h"

using namespace edgelink;
using namespace edgelink::bench::chaos;

namespace {

[[noreturn]] void usage(const std::string& what) {
  std::fprintf(stderr,
               "bench_chaos: %s\nusage: bench_chaos [--quick] [--seed S] [--minutes M] "
               "[--dispatchers N] [--agents N] [--sim-edges N] [--rate R] [--outage-seconds S] "
               "[--mean-gap-seconds S] [--drain-seconds S]\n",
               what.c_str());
  std::exit(2);
}

Args parseArgs(int argc, char** argv) {
  Args a;
  std::map<std::string, int*> ints = {
      {"--dispatchers", &a.dispatchers},      {"--agents", &a.agents},
      {"--sim-edges", &a.simEdges},           {"--rate", &a.rate},
      {"--outage-seconds", &a.outageSeconds}, {"--mean-gap-seconds", &a.meanGapSeconds},
      {"--drain-seconds", &a.drainSeconds}};
  std::vector<std::string> args(argv + 1, argv + argc);
  // --quick first: later flags override its values.
  if (std::find(args.begin(), args.end(), "--quick") != args.end()) {
    a.quick = true;
    a.minutes = 5;
    a.simEdges = 300;
    a.rate = 10;
    a.outageSeconds = 10;
    a.meanGapSeconds = 10;
    a.drainSeconds = 45;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--quick") {
      continue;
    }
    if (i + 1 >= args.size()) {
      usage(arg + ": a value is missing (or an unknown flag)");
    }
    const std::string value = args[++i];
    try {
      if (arg == "--seed") {
        a.seed = static_cast<uint32_t>(std::stoul(value));
      } else if (arg == "--minutes") {
        a.minutes = std::stod(value);
      } else if (ints.count(arg) != 0) {
        *ints[arg] = std::stoi(value);
      } else {
        usage("unknown flag " + arg);
      }
    } catch (const std::logic_error&) {
      usage(arg + ": not a number: " + value);
    }
  }
  if (a.dispatchers < 1 || a.agents < 1 || a.simEdges < 1 || a.rate < 1 || a.meanGapSeconds < 1 ||
      a.minutes * 60 < a.drainSeconds + 2 * a.outageSeconds + 60) {
    usage("counts must be positive, and --minutes leave room for the faults and the drain");
  }
  if (a.seed == 0) {
    a.seed = static_cast<uint32_t>(std::chrono::system_clock::now().time_since_epoch().count());
  }
  return a;
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

/// A ping to every real agent and to one simulated edge, answered before the load starts (an
/// agent reads its topic from where it joined).
void warmUp(World& w, Load& load) {
  std::vector<std::string> ids;
  for (RealEdge& e : w.agents()) {
    ids.push_back(load.publish(e.agent->setup().edgeId, "ping", "{}"));
  }
  ids.push_back(load.publish(w.simEdges().front(), "ping", "{}"));
  for (const auto& id : ids) {
    // Not harness().waitFor: it reports through Catch, and no Catch session runs here.
    const std::string query = "SELECT state FROM request_status WHERE id = '" + id + "'";
    if (!testing::waitUntil([&] { return w.harness().sql(query) == "succeeded"; }, 120000, 200)) {
      throw std::runtime_error("warm-up ping " + id + " not answered within 120 s");
    }
  }
}

/// Runs the schedule while the load runs; returns how many faults of each kind were made.
std::map<Fault, int> runFaults(World& w, const Args& a, double loadSeconds) {
  const auto t0 = std::chrono::steady_clock::now();
  const double lastFault = loadSeconds - a.outageSeconds - 20;
  const auto plan = planFaults(a.seed, 10, lastFault, a.meanGapSeconds);
  std::mt19937 rng(a.seed ^ 0xfa17u);
  std::map<Fault, int> made;
  size_t next = 0;
  while (secondsSince(t0) < loadSeconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (const std::string restarted = w.supervise(); !restarted.empty()) {
      std::printf("    [%6.1f s] on its own: %s\n", secondsSince(t0), restarted.c_str());
    }
    if (next < plan.size() && secondsSince(t0) >= plan[next].atSeconds) {
      const double at = secondsSince(t0);
      const std::string what = w.inject(plan[next].kind, rng);
      std::printf("    [%6.1f s] %s: %s (%.1f s)\n", at, faultName(plan[next].kind), what.c_str(),
                  secondsSince(t0) - at);
      ++made[plan[next].kind];
      ++next;
    }
  }
  return made;
}

/// The quiet drain: no load, no faults, until no request is pending (or `seconds` passed).
void drain(World& w, int seconds) {
  const auto t0 = std::chrono::steady_clock::now();
  while (secondsSince(t0) < seconds) {
    (void)w.supervise();
    if (secondsSince(t0) > 15 &&
        w.harness().count("SELECT count(*) FROM request_status WHERE state = 'pending'") == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

int report(World& w, const Args& a, const std::map<Fault, int>& made, const Verdict& v,
           const std::string& loadProblem) {
  auto& h = w.harness();
  std::printf(
      "  messages: published %zu (refused by Kafka %zu), stored %zu, answered %zu;"
      " in PostgreSQL: requests %lld, responses %lld, events %lld, rejected %lld\n",
      v.published, v.refused, v.stored, v.answered,
      static_cast<long long>(h.count("SELECT count(*) FROM requests")),
      static_cast<long long>(h.count("SELECT count(*) FROM responses")),
      static_cast<long long>(h.count("SELECT count(*) FROM events")),
      static_cast<long long>(h.count("SELECT count(*) FROM rejected_messages")));
  std::printf(
      "  sessions: %lld opened, %lld live at the end\n",
      static_cast<long long>(h.count("SELECT count(*) FROM sessions")),
      static_cast<long long>(h.count("SELECT count(*) FROM sessions WHERE ended_at IS NULL")));
  std::string kinds;
  int total = 0;
  for (const auto& [kind, n] : made) {
    kinds += std::string(kinds.empty() ? "" : ", ") + faultName(kind) + " " + std::to_string(n);
    total += n;
  }
  std::printf("  faults injected: %d (%s)\n", total, kinds.c_str());
  std::printf("  processes that exited on their own (started again): %d\n", w.unexpectedExits());
  if (!loadProblem.empty() || !w.simulator().problems().empty()) {
    std::printf("  notes: %s %s\n", loadProblem.c_str(), w.simulator().problems().c_str());
  }
  std::printf("  lost %zu, duplicated %zu, invariant violations %zu\n", v.lost, v.duplicated,
              v.violations);
  if (v.violations == 0) {
    return 0;
  }
  std::printf("  first violation: %s\n  reproduce: bench_chaos --seed %u%s --minutes %g\n",
              v.details.front().c_str(), a.seed, a.quick ? " --quick" : "", a.minutes);
  for (size_t i = 1; i < v.details.size() && i < 20; ++i) {
    std::printf("    also: %s\n", v.details[i].c_str());
  }
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parseArgs(argc, argv);
  (void)log::init("off");  // the clients' warnings under faults are expected
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  try {
    std::printf("chaos run on the real Kafka broker and PostgreSQL (seed %u; %g minutes)\n", a.seed,
                a.minutes);
    const auto t0 = std::chrono::steady_clock::now();
    World w(a);
    Load load(w, a);
    warmUp(w, load);
    std::printf(
        "  world: %d dispatchers in one group, %d real agents with real frpc and frps, "
        "%d simulated edges, %d requests/s; up and answering in %.1f s\n",
        a.dispatchers, a.agents, a.simEdges, a.rate, secondsSince(t0));
    const double loadSeconds =
        std::max(60.0 + 2 * a.outageSeconds, a.minutes * 60 - a.drainSeconds - secondsSince(t0));
    load.start();
    std::printf("  faults (seconds from the start of the load):\n");
    const auto made = runFaults(w, a, loadSeconds);
    load.stop();
    drain(w, a.drainSeconds);
    const Verdict v = checkInvariants(w, load.published());
    return report(w, a, made, v, load.problem());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_chaos (seed %u): %s\n", a.seed, e.what());
    return 1;
  }
}
