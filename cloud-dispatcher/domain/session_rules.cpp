#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "domain/sessions.h"
#include "envelope/types.h"

// The sessions' pure decisions (declared in sessions.h), apart from the SQL that applies them.

namespace edgelink::dispatcher {

std::string servicesJson(const Services& services) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  for (const auto& [name, port] : services) {
    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    w.Int(port);
  }
  w.EndObject();
  return sb.GetString();
}

Services parseServicesJson(const std::string& json) {
  Services out;
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return out;
  }
  for (const auto& m : doc.GetObject()) {
    if (m.value.IsInt()) {
      out[m.name.GetString()] = m.value.GetInt();
    }
  }
  return out;
}

// ---- pure decisions ---------------------------------------------------------------------------

std::vector<int> choosePorts(const PortRange& pool, const std::set<int>& used, size_t count,
                             uint64_t seed) {
  std::vector<int> out;
  const int size = pool.size();
  if (size <= 0 || count == 0) {
    return out;
  }
  const int start = static_cast<int>(seed % static_cast<uint64_t>(size));
  for (int i = 0; i < size && out.size() < count; ++i) {
    int port = pool.first + (start + i) % size;
    if (used.count(port) == 0) {
      out.push_back(port);
    }
  }
  if (out.size() < count) {
    out.clear();
  }
  std::sort(out.begin(), out.end());
  return out;
}

StartDecision decideStart(bool sessionForRequestExists, const std::optional<LiveSession>& live,
                          const Services& requested) {
  if (sessionForRequestExists) {
    return StartDecision::kIgnore;
  }
  if (!live) {
    return StartDecision::kCreate;
  }
  return live->services == requested ? StartDecision::kExtend : StartDecision::kReplace;
}

std::pair<std::string, std::string> failedStartOutcome(int statusCode) {
  if (statusCode == toInt(Status::kStale)) {
    return {"failed", "stale"};
  }
  return {"failed", envelope::stop_reason::kStartFailed};
}

std::pair<std::string, std::string> stoppedOutcome(const std::string& stopReason) {
  if (stopReason == envelope::stop_reason::kStartFailed) {
    return {"failed", stopReason};
  }
  return {"closed", stopReason.empty() ? std::string("stopped") : stopReason};
}

bool frpStoppedEnds(const LiveSession& live, const FrpInfo& info, int64_t eventAtMs) {
  if (info.requestId) {
    if (*info.requestId == live.requestId) {
      return true;
    }
    // The event names another start: it can only be about an older session the edge replaced.
    if (info.stopReason == envelope::stop_reason::kReplaced) {
      return false;
    }
  }
  if (info.stopReason == envelope::stop_reason::kReplaced) {
    return false;
  }
  return live.requestedAtMs <= eventAtMs;
}

bool frpStartedContinues(const LiveSession& live, const FrpInfo& info) {
  return live.state == "active" && !info.services.empty() && info.services == live.services;
}

int64_t expiresAt(const FrpInfo& info, int64_t startedAtMs, std::optional<int64_t> autoStopSeconds,
                  int64_t defaultAutoStopSeconds) {
  if (info.expiresAtMs) {
    return *info.expiresAtMs;
  }
  int64_t seconds = info.autoStopSeconds.value_or(autoStopSeconds.value_or(defaultAutoStopSeconds));
  return startedAtMs + seconds * 1000;
}

}  // namespace edgelink::dispatcher
