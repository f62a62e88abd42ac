#include "dev_broker.h"

#include "core/strings.h"

namespace edgelink::devbroker {

Result<TopicSpec> parseTopicSpec(const std::string& text) {
  TopicSpec spec;
  auto colon = text.rfind(':');
  spec.name = text.substr(0, colon);
  if (colon != std::string::npos) {
    auto n = parseInt64(text.substr(colon + 1));
    if (!n || *n < 1 || *n > 10000) {
      return Error(Status::kBadRequest,
                   "partition count must be 1-10000, got '" + text.substr(colon + 1) + "'",
                   "--topic " + text);
    }
    spec.partitions = static_cast<int>(*n);
  }
  if (spec.name.empty() || spec.name.size() > 249) {
    return Error(Status::kBadRequest, "topic name must be 1-249 characters", "--topic " + text);
  }
  for (char c : spec.name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-')) {
      return Error(Status::kBadRequest, "topic name may only hold A-Z a-z 0-9 . _ -",
                   "--topic " + text);
    }
  }
  return spec;
}

Result<std::unique_ptr<DevBroker>> DevBroker::start(int brokers) {
  if (brokers < 1 || brokers > 16) {
    return Error(Status::kBadRequest, "broker count must be 1-16", "--brokers");
  }
  kafka::Config config;
  // A dummy producer handle owns the cluster; keep its own chatter quiet.
  config.set("log_level", "3");
  auto conf = config.build();
  if (!conf) {
    return conf.error();
  }
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), err, sizeof err);
  if (rk == nullptr) {
    return Error(Status::kInternal, std::string("cannot create the mock cluster's handle: ") + err);
  }
  (void)conf->release();
  std::unique_ptr<DevBroker> b(new DevBroker());
  b->rk_.reset(rk);
  b->cluster_ = rd_kafka_mock_cluster_new(rk, brokers);
  if (b->cluster_ == nullptr) {
    return Error(Status::kInternal, "rd_kafka_mock_cluster_new failed");
  }
  b->brokers_ = brokers;
  return b;
}

DevBroker::~DevBroker() {
  if (cluster_ != nullptr) {
    rd_kafka_mock_cluster_destroy(cluster_);
  }
}

std::string DevBroker::bootstrapServers() const {
  return rd_kafka_mock_cluster_bootstraps(cluster_);
}

VoidResult DevBroker::createTopic(const TopicSpec& topic) {
  auto err = rd_kafka_mock_topic_create(cluster_, topic.name.c_str(), topic.partitions,
                                        brokers_ < 3 ? brokers_ : 3);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return kafka::toError(err, "create topic " + topic.name);
  }
  return {};
}

void DevBroker::setAllDown(bool down) {
  for (int id = 1; id <= brokers_; ++id) {
    if (down) {
      rd_kafka_mock_broker_set_down(cluster_, id);
    } else {
      rd_kafka_mock_broker_set_up(cluster_, id);
    }
  }
}

}  // namespace edgelink::devbroker
