#include "kafka/config.h"

#include "core/logging.h"
#include "core/strings.h"

namespace edgelink::kafka {
namespace {

// librdkafka syslog levels -> spdlog levels.
spdlog::level::level_enum toSpdLevel(int level) {
  if (level <= 3) {
    return spdlog::level::err;
  }
  if (level == 4) {
    return spdlog::level::warn;
  }
  if (level <= 6) {
    return spdlog::level::info;
  }
  return spdlog::level::debug;
}

// Called from librdkafka's threads: must not throw.
void logCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf) noexcept {
  try {
    static const auto logger = log::get("kafka");
    logger->log(toSpdLevel(level), "{} {}: {}", rk ? rd_kafka_name(rk) : "-", fac, buf);
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may unwind into librdkafka
  }
}

void errorCallback(rd_kafka_t* rk, int err, const char* reason, void* /*opaque*/) noexcept {
  logClientError(rk, err, reason);
}

}  // namespace

void logClientError(rd_kafka_t* rk, int err, const char* reason) noexcept {
  try {
    static const auto logger = log::get("kafka");
    auto code = static_cast<rd_kafka_resp_err_t>(err);
    // Transport errors are expected while a broker is down; librdkafka retries by itself.
    bool transient = code == RD_KAFKA_RESP_ERR__TRANSPORT ||
                     code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
                     code == RD_KAFKA_RESP_ERR__RESOLVE;
    logger->log(transient ? spdlog::level::warn : spdlog::level::err, "{} {}: {}",
                rd_kafka_name(rk), rd_kafka_err2name(code), reason);
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may unwind into librdkafka
  }
}

Config& Config::set(const std::string& key, const std::string& value) {
  props_[key] = value;
  return *this;
}

Config& Config::setDefault(const std::string& key, const std::string& value) {
  props_.emplace(key, value);
  return *this;
}

VoidResult Config::apply(const std::vector<std::string>& keyValues, const std::string& what) {
  for (const auto& kv : keyValues) {
    auto parsed = splitKeyValue(kv);
    if (!parsed) {
      return Error(Status::kBadRequest,
                   "expected key=value (a librdkafka property), got '" + kv + "'", what);
    }
    set(parsed->first, parsed->second);
  }
  return {};
}

std::string Config::get(const std::string& key, const std::string& fallback) const {
  auto it = props_.find(key);
  return it == props_.end() ? fallback : it->second;
}

std::vector<std::string> Config::check() const {
  std::vector<std::string> problems;
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [k, v] : props_) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      problems.push_back("kafka property '" + k + "': " + err);
    }
  }
  return problems;
}

Result<ConfPtr> Config::build() const {
  auto problems = check();
  if (!problems.empty()) {
    return Error(Status::kBadRequest, join(problems, "; "));
  }
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const auto& [k, v] : props_) {
    rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof err);
  }
  installLogCallbacks(conf.get());
  return conf;
}

std::string Config::describe() const {
  std::vector<std::string> parts;
  for (const auto& [k, v] : props_) {
    parts.push_back(k + "=" + maskIfSecret(k, v));
  }
  return join(parts, ", ");
}

void installLogCallbacks(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(conf, logCallback);
  rd_kafka_conf_set_error_cb(conf, errorCallback);
}

}  // namespace edgelink::kafka
