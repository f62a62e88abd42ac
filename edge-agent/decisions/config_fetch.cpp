#include "decisions/config_fetch.h"

#include <limits>

namespace edgelink::agent {

ConfigFetch::Ask ConfigFetch::ask(int attempt, int64_t monoMs, int64_t wallMs) {
  Ask a;
  a.id = "cfg-" + edgeId_ + "-" + std::to_string(wallMs) + "-" + std::to_string(++counter_);
  a.attempt = attempt;
  awaiting_ = a.id;
  attempt_ = attempt;
  timeoutMono_ = monoMs + timeoutMs_;
  refreshMono_.reset();
  return a;
}

void ConfigFetch::scheduleRefresh(int64_t monoMs) {
  awaiting_.clear();
  attempt_ = 0;
  if (refreshMs_ > 0) {
    refreshMono_ = monoMs + refreshMs_;
  } else {
    refreshMono_.reset();
  }
}

ConfigFetch::Ask ConfigFetch::askNow(int64_t monoMs, int64_t wallMs) {
  return ask(1, monoMs, wallMs);
}

std::optional<ConfigFetch::Ask> ConfigFetch::onTimer(int64_t monoMs, int64_t wallMs) {
  if (!awaiting_.empty()) {
    if (monoMs < timeoutMono_) {
      return std::nullopt;
    }
    if (attempt_ <= kRetries) {
      return ask(attempt_ + 1, monoMs, wallMs);
    }
    ++givenUp_;
    scheduleRefresh(monoMs);
    return std::nullopt;
  }
  if (refreshMono_ && monoMs >= *refreshMono_) {
    return ask(1, monoMs, wallMs);
  }
  return std::nullopt;
}

bool ConfigFetch::answered(const std::string& id, int64_t monoMs) {
  if (awaiting_.empty() || id != awaiting_) {
    return false;
  }
  scheduleRefresh(monoMs);
  return true;
}

int64_t ConfigFetch::nextDueMono() const {
  if (!awaiting_.empty()) {
    return timeoutMono_;
  }
  return refreshMono_.value_or(std::numeric_limits<int64_t>::max());
}

}  // namespace edgelink::agent
