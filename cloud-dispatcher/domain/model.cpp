#include "domain/model.h"

#include <rapidjson/writer.h>

#include <algorithm>

#include "core/time_format.h"
#include "envelope/bodies.h"
#include "envelope/types.h"
#include "jsonschema/json_util.h"

namespace edgelink::dispatcher {
FrpInfo readFrpInfo(const rapidjson::Value& body) {
  FrpInfo info;
  // The schemas checked the body when it was decoded: a member of another type cannot reach here.
  if (auto s = envelope::body::readFrpState(body)) {
    info.state = s->state;
    for (const auto& [name, proxy] : s->services) {
      if (proxy.remotePort > 0) {
        info.services[name] = *proxy.remotePort;
      } else if (proxy.type == "stcp") {
        info.services[name] = 0;  // no public port
      }
    }
    info.startedAtMs = s->startedAtMs;
    info.expiresAtMs = s->expiresAtMs;
    info.autoStopSeconds = s->autoStopSeconds;
    if (s->requestId) {
      info.requestId = s->requestId->str();
    }
    info.stopReason = s->stopReason;
    info.extended = s->extended.value_or(false);
  }
  if (auto e = envelope::body::readErrorBody(body)) {
    info.error = e->error;
  }
  return info;
}

bool edgeWriteNeeded(const EdgeUpdate& u, std::optional<int64_t> written) {
  if (!written) {
    return true;
  }
  if (u.lastHeartbeatMs || u.agentStartedMs || u.stoppedMs || u.hostname || u.agentVersion) {
    return true;
  }
  return u.lastSeenMs && *u.lastSeenMs >= *written + kLastSeenResolutionMs;
}

int64_t seenAt(int64_t kafkaTimestampMs, int64_t nowMs) {
  return kafkaTimestampMs > 0 ? std::min(kafkaTimestampMs, nowMs) : nowMs;
}

int64_t deadlineOf(int64_t sentAtMs, int64_t seenAtMs, int64_t deadlineSeconds) {
  return std::min(sentAtMs, seenAtMs) + deadlineSeconds * 1000;
}

int64_t expiringDeadlineOf(int64_t sentAtMs, int64_t seenAtMs, int64_t expiresAtMs,
                           int64_t edgeMaxAgeSeconds, int64_t answerGraceSeconds) {
  const int64_t lastChance =
      std::min(expiresAtMs, deadlineOf(sentAtMs, seenAtMs, edgeMaxAgeSeconds));
  return lastChance + answerGraceSeconds * 1000;
}

std::string correlationKey(std::string_view edge, std::string_view id) {
  std::string k;
  k.reserve(edge.size() + id.size() + 1);
  k.append(edge);
  k.push_back('\0');
  k.append(id);
  return k;
}

Batch::Batch(const Options& options, const SignatureCheck* check)
    : options_(options), check_(check) {}

void Batch::clear() {
  messages_ = 0;
  heartbeats_ = 0;
  ownAnswers_ = 0;
  requests_.clear();
  edgeRequests_.clear();
  edgeRequestKeys_.clear();
  responses_.clear();
  events_.clear();
  rejected_.clear();
  edges_.clear();
  requestKeys_.clear();
  responseKeys_.clear();
  nextOffsets_.clear();
  lastNext_ = nullptr;
  lastTopic_.clear();
}

void Batch::noteOffset(const RawMessage& m) {
  // Kafka hands over runs of one partition: the last entry usually is the one.
  if (lastNext_ == nullptr || m.partition != lastPartition_ || m.topic != lastTopic_) {
    std::string key = std::to_string(m.partition);
    key.push_back('\0');
    key.append(m.topic);
    lastNext_ = &nextOffsets_[key];  // unordered_map references stay valid
    lastPartition_ = m.partition;
  }
  *lastNext_ = std::max(*lastNext_, m.offset + 1);
}

std::string Batch::bodyJson(const rapidjson::Value& body) {
  json_.Clear();
  rapidjson::Writer<rapidjson::StringBuffer> w(json_);
  body.Accept(w);
  return std::string(json_.GetString(), json_.GetSize());
}

std::map<std::pair<std::string, int32_t>, int64_t> Batch::nextOffsets() const {
  std::map<std::pair<std::string, int32_t>, int64_t> out;
  for (const auto& [key, next] : nextOffsets_) {
    const size_t nul = key.find('\0');
    out[{key.substr(nul + 1), static_cast<int32_t>(std::stol(key.substr(0, nul)))}] = next;
  }
  return out;
}

const std::optional<std::string>& Batch::edgeOf(const std::string& topic) {
  if (topic != lastTopic_ || lastTopic_.empty()) {
    lastTopic_ = topic;
    lastEdge_ = options_.edgeFromTopic(topic);
  }
  return lastEdge_;
}

EdgeUpdate& Batch::edge(const std::string& id, int64_t seenMs) {
  auto [it, inserted] = edges_.try_emplace(id);
  if (inserted) {
    it->second.edgeId = id;
    it->second.firstSeenMs = seenMs;
  } else {
    it->second.firstSeenMs = std::min(it->second.firstSeenMs, seenMs);
  }
  return it->second;
}

std::vector<EdgeUpdate> Batch::edgeUpdates() const {
  std::vector<EdgeUpdate> out;
  out.reserve(edges_.size());
  for (const auto& [id, u] : edges_) {
    out.push_back(u);
  }
  std::sort(out.begin(), out.end(),
            [](const EdgeUpdate& a, const EdgeUpdate& b) { return a.edgeId < b.edgeId; });
  return out;
}

void Batch::reject(const RawMessage& m, const std::optional<std::string>& edge, int64_t nowMs,
                   const envelope::DecodeError& e) {
  RejectedRow r;
  r.topic = m.topic;
  r.partition = m.partition;
  r.offset = m.offset;
  r.edgeId = edge;
  r.receivedAtMs = seenAt(m.kafkaTimestampMs, nowMs);
  r.statusCode = toInt(e.status);
  r.field = e.field;
  r.reason = e.message;
  if (e.kind) {
    r.kind = envelope::kindName(*e.kind);
  }
  if (e.id) {
    r.messageId = e.id->str();
  }
  r.sender = e.sender;
  r.type = e.type;
  r.payloadBytes = static_cast<int64_t>(m.payload.size());
  r.payload = std::string(m.payload.substr(0, kRejectedPayloadBytes));
  rejected_.push_back(std::move(r));
}

void Batch::addRejected(const RawMessage& m, int64_t nowMs, int statusCode,
                        const std::string& reason) {
  ++messages_;
  noteOffset(m);
  envelope::DecodeError e;
  e.status = static_cast<Status>(statusCode);
  e.message = reason;
  reject(m, edgeOf(m.topic), nowMs, e);
}

void Batch::addRequest(RequestRow row) {
  if (requestKeys_.insert(correlationKey(row.edgeId, row.id)).second) {
    edge(row.edgeId, row.seenAtMs);
    requests_.push_back(std::move(row));
  }
}

Classified Batch::add(const RawMessage& m, envelope::Decoder& decoder, int64_t nowMs) {
  ++messages_;
  noteOffset(m);
  const int64_t seen = seenAt(m.kafkaTimestampMs, nowMs);
  std::optional<std::string> edgeId = edgeOf(m.topic);
  if (!edgeId && isValidEdgeId(std::string(m.key))) {
    edgeId = std::string(m.key);  // a custom regex matched a topic outside the prefix
  }
  auto decoded = decoder.decode(m.payload);
  if (!decoded) {
    rejectUndecodable(m, edgeId, nowMs, seen, decoded.error());
    return Classified::kRejected;
  }
  if (!edgeId) {
    envelope::DecodeError e;
    e.message = "cannot tell the edge: topic '" + m.topic + "' lacks the prefix '" +
                options_.topicPrefix + "' and the key is not an edge id";
    e.kind = decoded->kind;
    e.id = decoded->id;
    e.type = decoded->type;
    e.sender = decoded->sender;
    reject(m, std::nullopt, nowMs, e);
    return Classified::kRejected;
  }
  if (decoded->kind != envelope::Kind::kRequest && decoded->sender == options_.sender) {
    // What the cloud itself put on the edge's topic, read back: its answers to edge requests
    // and the config_changed events `config push` sends. The edge's answers and events are
    // stored, not these (they would also fail the edge's signature check; and an event under the
    // cloud's sender never moves a session).
    ++ownAnswers_;
    return Classified::kOwnAnswer;
  }
  if (check_ != nullptr && decoded->kind != envelope::Kind::kRequest) {
    AnswerVerdict v = check_->check(*edgeId, m.topic, m.payload, m.signature);
    if (!v.accepted) {
      rejectUnverified(m, *edgeId, nowMs, *decoded, v);
      return Classified::kRejected;
    }
  }
  switch (decoded->kind) {
    case envelope::Kind::kRequest:
      if (decoded->recipient == envelope::kRecipientCloud) {
        return addEdgeRequest(m, *edgeId, *decoded, seen);
      }
      return addRequest(m, *edgeId, *decoded, seen);
    case envelope::Kind::kResponse:
      return addResponse(m, *edgeId, *decoded, seen);
    case envelope::Kind::kEvent:
      break;
  }
  return addEvent(m, *edgeId, *decoded, seen);
}

void Batch::rejectUndecodable(const RawMessage& m, const std::optional<std::string>& edgeId,
                              int64_t nowMs, int64_t seen, const envelope::DecodeError& e) {
  reject(m, edgeId, nowMs, e);
  // A request whose id can be read is answered by its edge (400/413), so it is recorded too:
  // the answer then joins a request, and the raw message stays in rejected_messages.
  if (edgeId && e.kind == envelope::Kind::kRequest && e.id) {
    RequestRow r;
    r.edgeId = *edgeId;
    r.id = e.id->str();
    r.idIsNumber = e.id->isNumber();
    r.type = envelope::isTypeName(e.type) ? e.type : std::string();
    r.sender = e.sender;
    r.sentAtMs = e.timestampMs.value_or(seen);
    r.seenAtMs = seen;
    r.deadlineMs = deadlineOf(r.sentAtMs, seen, options_.deadlineFor(r.type));
    r.bodyJson = "{}";
    r.partition = m.partition;
    r.offset = m.offset;
    addRequest(std::move(r));
  }
}

void Batch::rejectUnverified(const RawMessage& m, const std::string& edgeId, int64_t nowMs,
                             const envelope::Envelope& env, const AnswerVerdict& v) {
  envelope::DecodeError e;
  e.status = v.status;
  e.message = v.reason;
  e.kind = env.kind;
  e.id = env.id;
  e.type = env.type;
  e.sender = env.sender;
  reject(m, edgeId, nowMs, e);
  rejected_.back().signature = security::verdictName(v.verdict);
}

Classified Batch::addRequest(const RawMessage& m, const std::string& edgeId,
                             const envelope::Envelope& env, int64_t seen) {
  RequestRow r;
  r.edgeId = edgeId;
  r.id = env.id.str();
  if (!requestKeys_.insert(correlationKey(r.edgeId, r.id)).second) {
    return Classified::kDuplicate;
  }
  r.idIsNumber = env.id.isNumber();
  r.type = env.type;
  r.sender = env.sender;
  r.description = env.description;
  r.sentAtMs = env.timestampMs;
  r.seenAtMs = seen;
  r.expiresAtMs = env.expiresAtMs;
  r.deadlineMs = env.expiresAtMs
                     ? expiringDeadlineOf(env.timestampMs, seen, *env.expiresAtMs,
                                          options_.edgeMaxAgeSeconds, options_.answerGraceSeconds)
                     : deadlineOf(env.timestampMs, seen, options_.deadlineFor(env.type));
  r.bodyJson = bodyJson(env.body());
  if (const auto* secret = json::member(env.body(), "secret_key");
      secret != nullptr && env.type == envelope::request_type::kFrpStart) {
    // An stcp start's secret is kept only in its session row (for the operator who opened it):
    // the stored request body, which `requests show` prints, carries a marker instead.
    rapidjson::Document copy;
    copy.CopyFrom(env.body(), copy.GetAllocator());
    copy["secret_key"].SetString(envelope::kRedactedSecretKey, copy.GetAllocator());
    r.bodyJson = bodyJson(copy);
  }
  r.partition = m.partition;
  r.offset = m.offset;
  if (envelope::isFrpCommandType(env.type)) {
    if (auto cmd = envelope::readFrpCommand(env)) {
      r.frp = *cmd;
      if (check_ != nullptr) {
        r.signature = check_->checkRequest(m.topic, m.payload, m.signature);
      }
    }
  }
  edge(r.edgeId, seen);
  requests_.push_back(std::move(r));
  return Classified::kRequest;
}

Classified Batch::addEdgeRequest(const RawMessage& m, const std::string& edgeId,
                                 const envelope::Envelope& env, int64_t seen) {
  EdgeRequestRow r;
  r.topic = m.topic;
  r.edgeId = edgeId;
  r.sender = env.sender;
  r.id = env.id.str();
  if (!edgeRequestKeys_.insert(correlationKey(r.edgeId, r.sender + '\0' + r.id)).second) {
    return Classified::kDuplicate;
  }
  r.idIsNumber = env.id.isNumber();
  r.type = env.type;
  r.sentAtMs = env.timestampMs;
  r.receivedAtMs = seen;
  r.bodyJson = bodyJson(env.body());
  r.partition = m.partition;
  r.offset = m.offset;
  auto& u = edge(r.edgeId, seen);
  u.lastSeenMs = std::max(u.lastSeenMs.value_or(seen), seen);
  edgeRequests_.push_back(std::move(r));
  return Classified::kEdgeRequest;
}

Classified Batch::addResponse(const RawMessage& m, const std::string& edgeId,
                              const envelope::Envelope& env, int64_t seen) {
  ResponseRow r;
  r.edgeId = edgeId;
  r.id = env.id.str();
  if (!responseKeys_.insert(correlationKey(r.edgeId, r.id)).second) {
    return Classified::kDuplicate;
  }
  r.sender = env.sender;
  r.type = env.type;
  r.statusCode = env.statusCode;
  r.status = env.status;
  r.description = env.description;
  r.sentAtMs = env.timestampMs;
  r.receivedAtMs = seen;
  r.bodyJson = bodyJson(env.body());
  r.partition = m.partition;
  r.offset = m.offset;
  if (r.type.empty() || envelope::isFrpCommandType(r.type)) {
    r.frp = readFrpInfo(env.body());
  }
  auto& u = edge(r.edgeId, seen);
  u.lastSeenMs = std::max(u.lastSeenMs.value_or(seen), seen);
  responses_.push_back(std::move(r));
  return Classified::kResponse;
}

Classified Batch::addEvent(const RawMessage& m, const std::string& edgeId,
                           const envelope::Envelope& env, int64_t seen) {
  auto& u = edge(edgeId, seen);
  u.lastSeenMs = std::max(u.lastSeenMs.value_or(seen), seen);
  const auto& body = env.body();
  const bool heartbeat = env.type == envelope::event_type::kHeartbeat;
  const bool started = env.type == envelope::event_type::kAgentStarted;
  // The schemas checked the body when it was decoded: the typed read cannot fail on them.
  std::optional<envelope::body::Heartbeat> hb;
  if (heartbeat) {
    if (auto read = envelope::body::readHeartbeat(body)) {
      hb = std::move(read).value();
    }
  }
  if (hb && hb->metrics && (!u.agentMetricsMs || seen >= *u.agentMetricsMs)) {
    u.agentMetricsJson = envelope::body::toJson(*hb->metrics);
    u.agentMetricsMs = seen;
  }
  if (heartbeat || started) {
    if (!u.lastHeartbeatMs || seen >= *u.lastHeartbeatMs) {
      u.lastHeartbeatMs = seen;
      u.heartbeatSentMs = env.timestampMs;
      u.clockOffsetMs = hb ? hb->clockOffsetMs : std::nullopt;
      if (heartbeat) {
        // Read here, not by the typed heartbeat (common/envelope): the schema checked it.
        if (const auto* v = json::member(body, "config_version"); v != nullptr && v->IsInt64()) {
          u.configVersion = v->GetInt64();
        }
      }
      if (heartbeat) {
        if (hb) {
          if (!hb->agentVersion.empty()) {
            u.agentVersion = hb->agentVersion;
          }
          if (hb->intervalSeconds > 0) {
            u.intervalSeconds = hb->intervalSeconds;
          }
          if (hb->uptimeSeconds) {
            u.uptimeSeconds = hb->uptimeSeconds;
          }
          if (hb->frpRunning) {
            u.frpRunning = hb->frpRunning;
          }
        }
      } else if (auto st = envelope::body::readAgentStarted(body);
                 st && !st->agentVersion.empty()) {
        u.agentVersion = st->agentVersion;
      }
    }
  }
  if (heartbeat) {
    ++heartbeats_;
    return Classified::kHeartbeat;
  }
  if (started) {
    if (auto st = envelope::body::readAgentStarted(body); st && !st->hostname.empty()) {
      u.hostname = st->hostname;
    }
    u.agentStartedMs = std::max(u.agentStartedMs.value_or(seen), seen);
  }
  if (env.type == envelope::event_type::kAgentStopping) {
    u.stoppedMs = std::max(u.stoppedMs.value_or(seen), seen);
  }
  EventRow e;
  e.edgeId = edgeId;
  e.partition = m.partition;
  e.offset = m.offset;
  e.id = env.id.str();
  e.type = env.type;
  e.sender = env.sender;
  e.description = env.description;
  e.sentAtMs = env.timestampMs;
  e.receivedAtMs = seen;
  e.bodyJson = bodyJson(body);
  if (env.type == envelope::event_type::kFrpStarted ||
      env.type == envelope::event_type::kFrpStopped) {
    e.frp = readFrpInfo(body);
  }
  events_.push_back(std::move(e));
  return Classified::kEvent;
}

}  // namespace edgelink::dispatcher
