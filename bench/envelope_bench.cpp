// Envelope decode + validate throughput against RapidJSON's own DOM parse of the same bytes.
//
// Both sides parse the same corpus (every valid example under schemas/examples/valid plus
// synthetic heartbeats and start responses, the traffic mix of a fleet) into a fresh
// document per message, as the daemons do. Rounds alternate baseline/ours and the median
// ratio is reported, so a noisy neighbour hurts both sides alike.
//
// Wall-clock ratios move with the machine's load. So the bench also counts the instructions
// each side executes: it re-runs itself under valgrind's callgrind (--instructions mode: each
// side runs the corpus N times, collection switched on around each side only through callgrind's
// client requests) and reports the ratio of instructions, a figure that holds on any machine.
//
//   bench_envelope [--seconds-per-round S] [--rounds N] [--callgrind-passes N (0: skip)]
#include <dirent.h>
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "envelope/envelope.h"
#include "envelope/types.h"

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else  // no valgrind headers: the instruction count is skipped
#define RUNNING_ON_VALGRIND 0
#define CALLGRIND_TOGGLE_COLLECT
#define CALLGRIND_DUMP_STATS_AT(name)
#endif

using edgelink::envelope::Decoder;
using edgelink::envelope::Envelope;
using edgelink::envelope::Id;

namespace {

std::vector<std::string> corpus() {
  std::vector<std::string> out;
  std::string dir = std::string(EDGELINK_SCHEMAS_DIR) + "/examples/valid";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".json") {
        std::ifstream in(dir + "/" + n);
        std::stringstream ss;
        ss << in.rdbuf();
        out.push_back(ss.str());
      }
    }
    closedir(d);
  }
  // The common traffic: heartbeats and start answers.
  for (int i = 0; i < 20; ++i) {
    auto hb = Envelope::event(Id::generate(), "edge_board", 1795248000000 + i, "heartbeat");
    hb.set("agent_version", "0.1.0");
    hb.set("interval_seconds", 60);
    hb.set("uptime_seconds", 1234.5 + i);
    hb.set("frp_running", i % 3 == 0);
    out.push_back(edgelink::envelope::encode(hb));
  }
  return out;
}

using Clock = std::chrono::steady_clock;

// Messages per second over `seconds`, running `fn` over the corpus repeatedly.
template <class Fn>
double rate(const std::vector<std::string>& msgs, double seconds, Fn&& fn) {
  size_t n = 0;
  auto start = Clock::now();
  auto end = start + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    fn();
    n += msgs.size();
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(n) / elapsed;
}

}  // namespace

/// One side over the corpus `passes` times (kept out of line: callgrind counts exactly this).
__attribute__((noinline)) size_t runBaseline(const std::vector<std::string>& msgs, int passes) {
  size_t ok = 0;
  for (int p = 0; p < passes; ++p) {
    for (const auto& m : msgs) {
      rapidjson::Document d;
      d.Parse(m.data(), m.size());
      ok += d.HasParseError() ? 0 : 1;
    }
  }
  return ok;
}

__attribute__((noinline)) size_t runOurs(Decoder& decoder, const std::vector<std::string>& msgs,
                                         int passes) {
  size_t ok = 0;
  for (int p = 0; p < passes; ++p) {
    for (const auto& m : msgs) {
      ok += decoder.decode(m).ok() ? 1 : 0;
    }
  }
  return ok;
}

/// --instructions mode (under callgrind): each side once with collection on, dumped apart.
int countInstructions(const std::vector<std::string>& msgs, Decoder& decoder, int passes) {
  size_t sink = runBaseline(msgs, 1) + runOurs(decoder, msgs, 1);  // warm: first-use costs out
  CALLGRIND_TOGGLE_COLLECT;
  sink += runBaseline(msgs, passes);
  CALLGRIND_TOGGLE_COLLECT;
  CALLGRIND_DUMP_STATS_AT("baseline");
  CALLGRIND_TOGGLE_COLLECT;
  sink += runOurs(decoder, msgs, passes);
  CALLGRIND_TOGGLE_COLLECT;
  CALLGRIND_DUMP_STATS_AT("ours");
  return sink == 0 ? 1 : 0;
}

/// The instructions counted in a callgrind output file ("totals:" or "summary:" line).
double callgrindTotal(const std::string& path) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    for (const char* key : {"totals:", "summary:"}) {
      if (line.rfind(key, 0) == 0) {
        return std::atof(line.c_str() + std::strlen(key));
      }
    }
  }
  return -1;
}

/// Re-runs this binary under callgrind in --instructions mode; {baseline, ours} instructions
/// per message, or nothing when valgrind is not there or fails.
std::optional<std::pair<double, double>> instructionsPerMessage(const char* self, size_t messages,
                                                                int passes) {
  if (RUNNING_ON_VALGRIND || std::system("valgrind --version >/dev/null 2>&1") != 0) {
    return std::nullopt;
  }
  char dir[] = "/tmp/bench_envelope.XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    return std::nullopt;
  }
  const std::string out = std::string(dir) + "/callgrind.out";
  const std::string cmd =
      "valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file=" + out + " '" + self +
      "' --instructions " + std::to_string(passes) + " >" + dir + "/log 2>&1";
  const int rc = std::system(cmd.c_str());
  // Dumps are numbered in order: .1 the baseline, .2 ours.
  const double base = callgrindTotal(out + ".1");
  const double ours = callgrindTotal(out + ".2");
  const int removed = std::system(("rm -rf '" + std::string(dir) + "'").c_str());
  (void)removed;
  if (rc != 0 || base <= 0 || ours <= 0) {
    std::fprintf(stderr, "callgrind run failed (%s)\n", cmd.c_str());
    return std::nullopt;
  }
  const double n = static_cast<double>(messages) * passes;
  return std::make_pair(base / n, ours / n);
}

int main(int argc, char** argv) {
  double secondsPerRound = 0.5;
  int rounds = 7;
  int callgrindPasses = 50;
  int instructionsPasses = 0;  // > 0: the --instructions mode, run under callgrind
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds-per-round") == 0) {
      secondsPerRound = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--rounds") == 0) {
      rounds = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--callgrind-passes") == 0) {
      callgrindPasses = std::atoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--instructions") == 0) {
      instructionsPasses = std::atoi(argv[i + 1]);
    }
  }
  auto msgs = corpus();
  size_t bytes = 0;
  for (const auto& m : msgs) {
    bytes += m.size();
  }
  double avgBytes = static_cast<double>(bytes) / static_cast<double>(msgs.size());
  Decoder decoder;
  for (const auto& m : msgs) {  // every message must be valid, or the comparison is unfair
    auto r = decoder.decode(m);
    if (!r) {
      std::fprintf(stderr, "corpus message rejected: %s\n", r.error().describe().c_str());
      return 1;
    }
  }
  if (instructionsPasses > 0) {
    return countInstructions(msgs, decoder, instructionsPasses);
  }
  size_t sink = 0;
  std::vector<double> base, ours, ratios;
  for (int r = 0; r < rounds; ++r) {
    double b = rate(msgs, secondsPerRound, [&] { sink += runBaseline(msgs, 1); });
    double o = rate(msgs, secondsPerRound, [&] { sink += runOurs(decoder, msgs, 1); });
    base.push_back(b);
    ours.push_back(o);
    ratios.push_back(o / b);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  double ratio = median(ratios);
  std::printf("envelope decode+validate benchmark (%zu messages, %.0f bytes average, %d rounds)\n",
              msgs.size(), avgBytes, rounds);
  std::printf("  rapidjson DOM parse      : %10.0f msg/s  %7.1f MB/s\n", median(base),
              median(base) * avgBytes / 1e6);
  std::printf("  envelope decode+validate : %10.0f msg/s  %7.1f MB/s\n", median(ours),
              median(ours) * avgBytes / 1e6);
  std::printf("  ratio (median of rounds) : %.2f  (bar >= 0.70: %s)\n", ratio,
              ratio >= 0.7 ? "met" : "NOT MET");
  if (callgrindPasses > 0) {
    if (auto ins = instructionsPerMessage(argv[0], msgs.size(), callgrindPasses)) {
      const double insRatio = ins->first / ins->second;
      std::printf(
          "instructions (callgrind, %d passes of the corpus per side; independent of load)\n",
          callgrindPasses);
      std::printf("  rapidjson DOM parse      : %10.0f instructions/msg\n", ins->first);
      std::printf("  envelope decode+validate : %10.0f instructions/msg\n", ins->second);
      std::printf("  ratio (rapidjson / ours) : %.2f  (bar >= 0.70: %s)\n", insRatio,
                  insRatio >= 0.7 ? "met" : "NOT MET");
    } else {
      std::printf("instructions: skipped (valgrind not found: scripts/bootstrap installs it)\n");
    }
  }
  return sink == 0 ? 1 : 0;
}
