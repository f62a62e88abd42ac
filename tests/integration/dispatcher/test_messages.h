#pragma once

// Envelopes as a web backend or an edge would write them, for the dispatcher's tests.

#include <string>

#include "core/clock.h"
#include "envelope/envelope.h"

namespace edgelink::testing {

inline int64_t nowMs() {
  return SystemClock::instance().wallMs();
}

/// A request with a string id (`number`: an integer id, as in the original design).
inline std::string requestJson(const std::string& id, const std::string& type = "ping",
                               const std::string& sender = "web_backend", int64_t ts = nowMs(),
                               bool number = false) {
  auto e = envelope::Envelope::request(
      number ? envelope::Id::number(std::stoull(id)) : envelope::Id::text(id), sender, ts, type);
  return envelope::encode(e);
}

/// An answer from the edge (2xx ping answers carry pong).
inline std::string responseJson(const std::string& id, int code, const std::string& type = "ping",
                                int64_t ts = nowMs()) {
  auto r = envelope::Envelope::response(envelope::Id::text(id), type, "edge_board", ts, code);
  if (code >= 200 && code < 300 && type == "ping") {
    r.set("pong", true);
  } else if (code >= 200 && code < 300 && type == "system_info") {
    r.set("agent_version", "1.2.3");
    r.set("uptime_seconds", 10.0);
  } else if (code >= 300) {
    r.set("error", "simulated");
  }
  return envelope::encode(r);
}

inline std::string eventJson(const std::string& type, const std::string& id = "") {
  auto e = envelope::Envelope::event(id.empty() ? envelope::Id::generate() : envelope::Id::text(id),
                                     "edge_board", nowMs(), type);
  if (type == "agent_stopping" || type == "agent_started") {
    e.set("agent_version", "1.2.3");
  }
  if (type == "agent_stopping") {
    e.set("reason", "SIGTERM");
  }
  if (type == "agent_started") {
    e.set("hostname", "board-1");
    e.set("pid", 77);
    e.set("session_resumed", false);
  }
  return envelope::encode(e);
}

}  // namespace edgelink::testing
