#pragma once

// What the benchmarks share to time Kafka round trips: percentiles, a monotonic clock in
// microseconds, and a client producing to a topic and reading it back (a web backend's view).
// Failures throw std::runtime_error.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "envelope/envelope.h"
#include "kafka/client.h"
#include "security/signature.h"

namespace edgelink::bench {

/// CLOCK_MONOTONIC in microseconds.
double nowUs();

/// The p-quantile (0..1) of `v`, nearest rank; 0 when empty.
double percentile(std::vector<double> v, double p);

/// A producer and a consumer of one partition (0) of `topic`, assigned at its end.
class RoundTripClient {
 public:
  RoundTripClient(const kafka::Config& producer, const kafka::Config& consumer, std::string topic);

  using Match = std::function<bool(std::string_view)>;
  /// Produces `value` and waits for a message matching `match`: the round trip in ms. The
  /// matching message is decoded into `out` when given. Throws after 30 s.
  double roundTrip(const std::string& key, const std::string& value, const Match& match,
                   envelope::Envelope* out = nullptr);

  /// Waits until the consumer is positioned and fetching: a message produced before its start
  /// offset is known would be missed, so one is produced every half second until one arrives.
  void warmUp(const std::string& key);

  /// Produces without waiting (a delivery failure surfaces as a missing answer).
  void produce(const std::string& key, const std::string& value);

  /// Signs what it produces from now on (edgelink-key / edgelink-sig for its topic) with `key`
  /// (outlives the client), as the cloud does; nullptr: unsigned.
  void signWith(const security::SigningKey* key) { signer_ = key; }

 private:
  std::string topic_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  envelope::Decoder decoder_;
  const security::SigningKey* signer_ = nullptr;
};

/// The baseline of the benchmarks: `n` bare produce->consume round trips (ms) on `client`'s
/// topic, after a warm-up, each value matched by itself.
std::vector<double> bareRoundTrips(RoundTripClient& client, int n);

/// True when `value` is a response envelope to the request whose id is `idJson` (as JSON).
bool isResponseTo(std::string_view value, const std::string& idJson);

}  // namespace edgelink::bench
