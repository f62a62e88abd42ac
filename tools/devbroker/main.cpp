// devbroker: a Kafka-protocol broker on 127.0.0.1 for the demo and the tests.
//
//   devbroker [--brokers N] [--topic NAME[:PARTITIONS]]... [--topics-from FILE]
//             [--edge-topics N --edge-topic-prefix edge.fleet-] [--bootstrap-file PATH]
//
// Prints the bootstrap address as the first line on stdout, then runs until SIGTERM/SIGINT.
// SIGUSR1 takes every broker down (an outage), SIGUSR2 brings them back.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "core/atomic_file.h"
#include "core/logging.h"
#include "dev_broker.h"

namespace {

using edgelink::Result;
using edgelink::devbroker::DevBroker;
using edgelink::devbroker::TopicSpec;

/// The topics to create: each --topic, each line of --topics-from (but '#' comments), then
/// --edge-topics of them named <prefix>00000...
Result<std::vector<TopicSpec>> topicSpecs(const std::vector<std::string>& topics,
                                          const std::string& topicsFile, int edgeTopics,
                                          const std::string& edgePrefix) {
  std::vector<std::string> texts = topics;
  if (!topicsFile.empty()) {
    std::ifstream in(topicsFile);
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line[0] != '#') {
        texts.push_back(line);
      }
    }
  }
  std::vector<TopicSpec> specs;
  for (const auto& text : texts) {
    auto spec = edgelink::devbroker::parseTopicSpec(text);
    if (!spec) {
      return spec.error();
    }
    specs.push_back(*spec);
  }
  for (int i = 0; i < edgeTopics; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "%05d", i);
    specs.push_back({edgePrefix + name, 1});
  }
  return specs;
}

/// Creates `specs` from many threads: the last failure, described, or "".
std::string createTopicsInParallel(DevBroker& broker, const std::vector<TopicSpec>& specs) {
  // Each rd_kafka_mock_topic_create() waits until the mock cluster's thread wakes up and serves
  // its queue (~0.1-0.3 s here: it does not wake for queued requests), so one by one a fleet of
  // 10,000 topics took most of an hour. Requests from many threads are served by the same
  // wake-up: 10,000 topics then take ~10 s.
  std::atomic<size_t> next{0};
  std::mutex failureMutex;
  std::string failure;
  std::vector<std::thread> creators;
  const size_t threads = std::min<size_t>(specs.size(), 500);
  for (size_t t = 0; t < threads; ++t) {
    creators.emplace_back([&] {
      for (size_t i = next++; i < specs.size(); i = next++) {
        if (auto r = broker.createTopic(specs[i]); !r) {
          std::lock_guard<std::mutex> lock(failureMutex);
          failure = r.error().describe();
        }
      }
    });
  }
  for (auto& t : creators) {
    t.join();
  }
  return failure;
}

/// Serves the signals in `set` until SIGTERM or SIGINT: SIGUSR1 takes every broker down,
/// SIGUSR2 brings them back, SIGHUP is ignored.
void serveSignals(DevBroker& broker, const sigset_t& set) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) {
      continue;
    }
    if (sig == SIGUSR1) {
      edgelink::log::get("main")->warn("all brokers down (SIGUSR1)");
      broker.setAllDown(true);
    } else if (sig == SIGUSR2) {
      edgelink::log::get("main")->warn("all brokers up (SIGUSR2)");
      broker.setAllDown(false);
    } else if (sig != SIGHUP) {
      return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace edgelink;
  CLI::App app{
      "devbroker: librdkafka's mock Kafka cluster on 127.0.0.1, for development and tests"};
  int brokers = 1;
  std::vector<std::string> topics;
  std::string topicsFile;
  int edgeTopics = 0;
  std::string edgePrefix = "edge.fleet-";
  std::string bootstrapFile;
  std::string logLevel = "warn";
  app.add_option("--brokers", brokers, "Number of brokers")->capture_default_str();
  app.add_option("--topic", topics, "Topic to create, NAME or NAME:PARTITIONS (repeatable)");
  app.add_option("--topics-from", topicsFile, "File with one NAME[:PARTITIONS] per line")
      ->check(CLI::ExistingFile);
  app.add_option("--edge-topics", edgeTopics,
                 "Create N one-partition topics <prefix>00000.. (a simulated fleet)");
  app.add_option("--edge-topic-prefix", edgePrefix, "Prefix for --edge-topics")
      ->capture_default_str();
  app.add_option("--bootstrap-file", bootstrapFile,
                 "Also write the bootstrap address to this file (atomically)");
  app.add_option("--log-level", logLevel, "trace, debug, info, warn, error")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (auto r = log::init(logLevel); !r) {
    std::fprintf(stderr, "devbroker: --log-level: %s\n", r.error().message.c_str());
    return 2;
  }

  auto specs = topicSpecs(topics, topicsFile, edgeTopics, edgePrefix);
  if (!specs) {
    std::fprintf(stderr, "devbroker: %s\n", specs.error().describe().c_str());
    return 2;
  }

  // Block the signals before librdkafka starts threads, so only sigwait() below sees them.
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2, SIGHUP}) {
    sigaddset(&set, s);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto broker = devbroker::DevBroker::start(brokers);
  if (!broker) {
    std::fprintf(stderr, "devbroker: %s\n", broker.error().describe().c_str());
    return 1;
  }
  if (auto failure = createTopicsInParallel(**broker, *specs); !failure.empty()) {
    std::fprintf(stderr, "devbroker: %s\n", failure.c_str());
    return 1;
  }
  const std::string bootstrap = (*broker)->bootstrapServers();
  if (!bootstrapFile.empty()) {
    if (auto r = writeFileAtomic(bootstrapFile, bootstrap + "\n", 0644); !r) {
      std::fprintf(stderr, "devbroker: %s\n", r.error().describe().c_str());
      return 1;
    }
  }
  std::printf("%s\n", bootstrap.c_str());
  std::fflush(stdout);
  log::get("main")->info("devbroker up on {} ({} topics created)", bootstrap, specs->size());

  serveSignals(**broker, set);
  log::get("main")->info("devbroker stopping");
  broker->reset();
  return 0;
}
