#pragma once

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgelink::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

/// librdkafka properties for one client, applied in order (later keys win). Any librdkafka
/// property can be given, so TLS and SASL work from configuration alone.
class Config {
 public:
  Config() = default;
  explicit Config(std::map<std::string, std::string> props) : props_(std::move(props)) {}

  /// Sets a property (overwrites).
  Config& set(const std::string& key, const std::string& value);
  /// Sets a property only when it is not set yet (for defaults under user settings).
  Config& setDefault(const std::string& key, const std::string& value);
  /// Applies "key=value" strings; error names the malformed entry.
  VoidResult apply(const std::vector<std::string>& keyValues, const std::string& what);
  bool has(const std::string& key) const { return props_.count(key) != 0; }
  std::string get(const std::string& key, const std::string& fallback = {}) const;
  const std::map<std::string, std::string>& properties() const { return props_; }

  /// Builds an rd_kafka_conf_t with EdgeLink's log/error callbacks installed, reporting every
  /// property librdkafka rejects (not only the first).
  Result<ConfPtr> build() const;
  /// Checks every property without creating a client: all problems, one per entry.
  std::vector<std::string> check() const;
  /// "key=value, ..." with secrets masked, for logs.
  std::string describe() const;

 private:
  std::map<std::string, std::string> props_;
};

/// Routes librdkafka's log and error callbacks into the spdlog logger "kafka". Installed by
/// Config::build(); exposed for code creating its own rd_kafka_conf_t.
void installLogCallbacks(rd_kafka_conf_t* conf);
/// What the installed error callback does with an error: log it to "kafka" (never throws).
void logClientError(rd_kafka_t* rk, int err, const char* reason) noexcept;

}  // namespace edgelink::kafka
