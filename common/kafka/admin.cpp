#include <algorithm>
#include <map>
#include <memory>

#include "kafka/client.h"

// Admin and metadata: listing topics, creating them in batches (declared in client.h).

namespace edgelink::kafka {

Result<std::vector<std::string>> listTopics(rd_kafka_t* rk, const std::string& prefix,
                                            int timeoutMs) {
  const rd_kafka_metadata_t* raw = nullptr;
  auto err = rd_kafka_metadata(rk, 1, nullptr, &raw, timeoutMs);
  MetadataPtr md(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(err, "list topics");
  }
  std::vector<std::string> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    std::string name = md->topics[i].topic;
    if (name.compare(0, prefix.size(), prefix) == 0) {
      out.push_back(name);
    }
  }
  return out;
}

namespace {

using NewTopicPtr = std::unique_ptr<rd_kafka_NewTopic_t, decltype(&rd_kafka_NewTopic_destroy)>;

Result<NewTopicPtr> newTopic(const NewTopic& t) {
  char err[512];
  NewTopicPtr nt(
      rd_kafka_NewTopic_new(t.name.c_str(), t.partitions, t.replicationFactor, err, sizeof err),
      &rd_kafka_NewTopic_destroy);
  if (!nt) {
    return Error(Status::kBadRequest, "topic " + t.name + ": " + err);
  }
  for (const auto& [k, v] : t.configs) {
    auto e = rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str());
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return toError(e, "topic " + t.name + " config " + k);
    }
  }
  return nt;
}

/// One CreateTopics request for `topics` (at most kCreateTopicsBatch); results by topic name.
VoidResult createBatch(rd_kafka_t* rk, const std::vector<const NewTopic*>& topics, int timeoutMs,
                       std::map<std::string, VoidResult>& results) {
  std::vector<NewTopicPtr> owned;
  std::vector<rd_kafka_NewTopic_t*> raw;
  for (const NewTopic* t : topics) {
    auto nt = newTopic(*t);
    if (!nt) {
      results.emplace(t->name, nt.error());
      continue;
    }
    raw.push_back(nt->get());
    owned.push_back(std::move(*nt));
  }
  if (raw.empty()) {
    return {};
  }
  char err[512];
  QueuePtr queue(rd_kafka_queue_new(rk));
  std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> opts(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS),
      &rd_kafka_AdminOptions_destroy);
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeoutMs, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeoutMs, err, sizeof err);
  rd_kafka_CreateTopics(rk, raw.data(), raw.size(), opts.get(), queue.get());
  // The admin request itself times out by request_timeout; wait a little longer than that.
  EventPtr event(rd_kafka_queue_poll(queue.get(), timeoutMs + 2000));
  rd_kafka_event_t* ev = event.get();
  const std::string what = raw.size() == 1
                               ? "CreateTopics for " + topics.front()->name
                               : "CreateTopics (" + std::to_string(raw.size()) + " topics)";
  if (ev == nullptr) {
    return Error(Status::kTimeout,
                 what + " got no answer within " + std::to_string(timeoutMs) + " ms");
  }
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(rd_kafka_event_error(ev), what);
  }
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const rd_kafka_topic_result_t** out = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; ++i) {
    const std::string name = rd_kafka_topic_result_name(out[i]);
    auto e = rd_kafka_topic_result_error(out[i]);
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
      results.emplace(name, VoidResult{});
      continue;
    }
    Error failed = toError(e, "CreateTopics for " + name);
    if (const char* msg = rd_kafka_topic_result_error_string(out[i]); msg != nullptr) {
      failed.message += ": " + std::string(msg);
    }
    results.emplace(name, std::move(failed));
  }
  return {};
}

}  // namespace

Result<std::vector<VoidResult>> createTopics(const Config& config,
                                             const std::vector<NewTopic>& topics, int timeoutMs) {
  auto conf = config.build();
  if (!conf) {
    return conf.error();
  }
  auto rk = newHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk) {
    return rk.error();
  }
  std::map<std::string, VoidResult> byName;
  for (size_t start = 0; start < topics.size(); start += kCreateTopicsBatch) {
    std::vector<const NewTopic*> batch;
    for (size_t i = start; i < std::min(topics.size(), start + kCreateTopicsBatch); ++i) {
      batch.push_back(&topics[i]);
    }
    if (auto r = createBatch(rk->get(), batch, timeoutMs, byName); !r) {
      return r.error();
    }
  }
  std::vector<VoidResult> results;
  results.reserve(topics.size());
  for (const auto& t : topics) {
    auto it = byName.find(t.name);
    results.push_back(
        it != byName.end()
            ? it->second
            : VoidResult(Error(Status::kInternal, "CreateTopics gave no result for " + t.name)));
  }
  return results;
}

VoidResult createTopic(const Config& config, const std::string& topic, int partitions,
                       int replicationFactor, const std::map<std::string, std::string>& configs,
                       int timeoutMs) {
  auto results = createTopics(config, {{topic, partitions, replicationFactor, configs}}, timeoutMs);
  if (!results) {
    return results.error();
  }
  return results->front();
}

VoidResult deleteTopic(const Config& config, const std::string& topic, int timeoutMs) {
  auto conf = config.build();
  if (!conf) {
    return conf.error();
  }
  auto rk = newHandle(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk) {
    return rk.error();
  }
  std::unique_ptr<rd_kafka_DeleteTopic_t, decltype(&rd_kafka_DeleteTopic_destroy)> dt(
      rd_kafka_DeleteTopic_new(topic.c_str()), &rd_kafka_DeleteTopic_destroy);
  QueuePtr queue(rd_kafka_queue_new(rk->get()));
  std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> opts(
      rd_kafka_AdminOptions_new(rk->get(), RD_KAFKA_ADMIN_OP_DELETETOPICS),
      &rd_kafka_AdminOptions_destroy);
  char err[512];
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeoutMs, err, sizeof err);
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeoutMs, err, sizeof err);
  rd_kafka_DeleteTopic_t* raw = dt.get();
  rd_kafka_DeleteTopics(rk->get(), &raw, 1, opts.get(), queue.get());
  EventPtr event(rd_kafka_queue_poll(queue.get(), timeoutMs + 2000));
  const std::string what = "DeleteTopics for " + topic;
  if (!event) {
    return Error(Status::kTimeout,
                 what + " got no answer within " + std::to_string(timeoutMs) + " ms");
  }
  if (auto e = rd_kafka_event_error(event.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(e, what);
  }
  size_t n = 0;
  const rd_kafka_topic_result_t** out =
      rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(event.get()), &n);
  if (n != 1) {
    return Error(Status::kInternal, what + " gave no result");
  }
  if (auto e = rd_kafka_topic_result_error(out[0]); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return toError(e, what);
  }
  return {};
}

}  // namespace edgelink::kafka
