// Envelope decode + validate throughput against RapidJSON's own DOM parse of the same bytes.
//
// Both sides parse the same corpus (every valid example under schemas/examples/valid plus
// synthetic heartbeats and start responses, the traffic mix of a fleet) into a fresh
// document per message, as the daemons do. Rounds alternate baseline/ours and the median
// ratio is reported, so a noisy neighbour hurts both sides alike.
//
//   bench_envelope [--seconds-per-round S] [--rounds N]
#include <dirent.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "envelope/envelope.h"
#include "envelope/types.h"

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
    for (const auto& m : msgs) {
      fn(m);
    }
    n += msgs.size();
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(n) / elapsed;
}

}  // namespace

int main(int argc, char** argv) {
  double secondsPerRound = 0.5;
  int rounds = 7;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds-per-round") == 0) {
      secondsPerRound = std::atof(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--rounds") == 0) {
      rounds = std::atoi(argv[i + 1]);
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
  size_t sink = 0;
  std::vector<double> base, ours, ratios;
  for (int r = 0; r < rounds; ++r) {
    double b = rate(msgs, secondsPerRound, [&](const std::string& m) {
      rapidjson::Document d;
      d.Parse(m.data(), m.size());
      sink += d.HasParseError() ? 0 : 1;
    });
    double o = rate(msgs, secondsPerRound, [&](const std::string& m) {
      auto e = decoder.decode(m);
      sink += e.ok() ? 1 : 0;
    });
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
  return sink == 0 ? 1 : 0;
}
