#include "cli/requester.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <optional>

#include "cli/cluster_route.h"
#include "cli/key_store.h"
#include "cli/queries.h"
#include "core/logging.h"
#include "db/migrations.h"
#include "domain/model.h"
#include "ingest/store.h"
#include "kafka/client.h"
#include "security/signature.h"

namespace edgelink::dispatcher {

envelope::Envelope buildRequest(const Context& c, const std::string& id, const std::string& type,
                                const std::string& description) {
  const int64_t now = c.clock.wallMs();
  auto request =
      envelope::Envelope::request(envelope::Id::text(id), c.options.sender, now, type, description);
  request.expiresAtMs = now + c.options.deadlineFor(type) * 1000;
  return request;
}

Result<Published> Requester::publish(const std::string& edge, const std::string& bytes,
                                     const security::SigningKey* key,
                                     const ClusterRoute& route) const {
  const Options& o = c_.options;
  Published p;
  p.topic = o.topicFor(edge);
  std::optional<kafka::DeliveryReport> report;
  auto producer = kafka::Producer::create(
      o.producerConfigFor(route), [&report](const kafka::DeliveryReport& r) { report = r; });
  if (!producer) {
    return producer.error();
  }
  p.timestampMs = c_.clock.wallMs();
  std::vector<std::pair<std::string, std::string>> headers;
  if (key != nullptr) {
    headers = security::signatureHeaders(*key, p.topic, bytes);
  }
  if (auto r = (*producer)->produce(p.topic, edge, bytes, headers, 1); !r) {
    return r.error();
  }
  auto flushed = (*producer)->flush(static_cast<int>(o.kafkaTimeoutSeconds * 1000) + 1000);
  if (!report) {
    return Error(Status::kUnavailable, "the request to " + p.topic + " was not delivered within " +
                                           std::to_string(o.kafkaTimeoutSeconds) +
                                           " s: is Kafka at " + route.bootstrap + " reachable?" +
                                           (flushed ? "" : " (" + flushed.error().message + ")"));
  }
  if (report->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    Error e = kafka::toError(report->err, "delivering the request to " + p.topic);
    e.message += " (Kafka at " + route.bootstrap + ")";
    return e;
  }
  p.partition = report->partition;
  p.offset = report->offset;
  return p;
}

VoidResult Requester::record(const std::string& edge, const std::string& bytes) const {
  // The same path the daemon takes for what it consumes: identical rows, whoever is first.
  envelope::Decoder decoder(envelope::Limits{c_.options.maxMessageBytes, 32});
  Batch batch(c_.options);
  RawMessage m;
  m.topic = published_.topic;
  m.partition = published_.partition;
  m.offset = published_.offset;
  m.key = edge;
  m.payload = bytes;
  m.kafkaTimestampMs = published_.timestampMs;
  batch.add(m, decoder, c_.clock.wallMs());
  Store store(c_.options);
  if (auto r = store.prepare(db_); !r) {
    return r;
  }
  auto w = store.write(db_, batch);
  if (!w) {
    return w.error();
  }
  return {};
}

Result<bool> Requester::answered(const std::string& edge, const std::string& id) const {
  auto rows = db_.exec("SELECT 1 FROM responses WHERE edge_id = $1 AND id = $2", {edge, id});
  if (!rows) {
    return rows.error();
  }
  return !rows->empty();
}

Result<bool> Requester::waitForAnswer(const std::string& edge, const std::string& id,
                                      int64_t seconds) const {
  // LISTEN came before the request was published, so no answer can slip between the check and
  // the wait.
  auto first = answered(edge, id);
  if (!first || *first) {
    return first;
  }
  const int64_t deadline = c_.clock.monoMs() + seconds * 1000;
  while (!gStop) {
    const int64_t left = deadline - c_.clock.monoMs();
    if (left <= 0) {
      break;
    }
    auto n = db_.waitNotification(static_cast<int>(std::min<int64_t>(left, 1000)));
    if (!n) {
      return n.error();
    }
    if (!*n) {
      continue;
    }
    rapidjson::Document doc;
    doc.Parse((*n)->payload.c_str());
    if (doc.IsObject() && doc.HasMember("edge_id") && doc["edge_id"].IsString() &&
        doc.HasMember("id") && doc["id"].IsString()) {
      if (edge == doc["edge_id"].GetString() && id == doc["id"].GetString()) {
        // The sweeper declared it 'timeout': past its expiry, no answer will come.
        const bool timedOut = doc.HasMember("state") && doc["state"].IsString() &&
                              std::string(doc["state"].GetString()) == "timeout";
        if (!timedOut) {
          return true;
        }
        return answered(edge, id);
      }
      continue;  // someone else's answer
    }
    // A large batch is announced as a whole: look whether ours is in it.
    auto found = answered(edge, id);
    if (!found || *found) {
      return found;
    }
  }
  return answered(edge, id);
}

int Requester::exchange(const std::string& edge, const std::string& id, const std::string& bytes,
                        int64_t waitSeconds,
                        const std::function<std::string(const Error&)>& onUnpublished) {
  auto unpublished = [&](int code, const Error& e) {
    return c_.fail(code, e.describe() + (onUnpublished ? onUnpublished(e) : std::string()));
  };
  // The signing key first: no key, nothing goes out.
  auto key = publishingKey(c_.options.signRequests, c_.options.signingKeyDir);
  if (!key) {
    return unpublished(exitCodeForKeyError(key.error()), key.error());
  }
  // The edge's cluster: an edge on a cluster this dispatcher does not know gets nothing.
  auto route = edgeRoute(db_, c_.options, edge);
  if (!route) {
    return unpublished(route.error().status == Status::kNotFound ? kExitUsage : kExitDatabase,
                       route.error());
  }
  if (waitSeconds > 0) {
    // Before publishing, so no answer can slip by.
    if (auto r = db_.listen(kResponseChannel); !r) {
      return unpublished(kExitDatabase, r.error());
    }
  }
  auto p = publish(edge, bytes, *key ? &**key : nullptr, *route);
  if (!p) {
    return unpublished(kExitKafka, p.error());
  }
  published_ = *p;
  log::get("cli")->info("published request id={} edge={} to {}[{}] offset {}{}", id, edge, p->topic,
                        p->partition, p->offset,
                        route->own ? "" : " on Kafka cluster " + route->name);
  if (auto r = record(edge, bytes); !r) {
    return c_.fail(kExitDatabase, "published, but recording it failed: " + r.error().describe());
  }
  if (waitSeconds <= 0) {
    return kExitOk;
  }
  auto answer = waitForAnswer(edge, id, waitSeconds);
  if (!answer) {
    return c_.fail(kExitDatabase, answer.error().describe());
  }
  return *answer ? kExitOk : kExitTimeout;
}

int Requester::readBack(const std::string& edge, const std::string& id, const std::string& what,
                        Record& record) const {
  auto shown = showRequest(db_, id, edge);
  if (!shown || shown->empty()) {
    return c_.fail(kExitDatabase, what + " was published but cannot be read back");
  }
  record = shown->front();
  return kExitOk;
}

int outcomeCode(int exchanged, int64_t waitSeconds, const Record& request) {
  if (exchanged != kExitOk || waitSeconds <= 0) {
    return exchanged;
  }
  return exitCodeForAnswer(static_cast<int>(std::stol("0" + fieldText(request, "status_code"))));
}

}  // namespace edgelink::dispatcher
