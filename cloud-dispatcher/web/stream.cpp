#include "web/stream.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "db/migrations.h"
#include "db/pg.h"

namespace edgelink::dispatcher::web {

std::string formatServerSentEvent(const StreamEvent& e) {
  std::string out = "event: " + e.name + "\n";
  size_t start = 0;
  for (;;) {
    const size_t nl = e.data.find('\n', start);
    out += "data: " + e.data.substr(start, nl == std::string::npos ? nl : nl - start) + "\n";
    if (nl == std::string::npos) {
      break;
    }
    start = nl + 1;
  }
  return out + "\n";
}

std::string eventNameForChannel(const std::string& channel) {
  if (channel == "edgelink_session") {
    return "session";
  }
  if (channel == kResponseChannel) {
    return "response";
  }
  if (channel == kEventChannel) {
    return "event";
  }
  return {};
}

std::vector<StreamEvent> EventStream::Subscriber::wait(int timeoutMs) {
  std::unique_lock<std::mutex> lock(mutex_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeoutMs),
               [this] { return stop_ || overflowed_ || !queue_.empty(); });
  std::vector<StreamEvent> out;
  if (overflowed_) {
    overflowed_ = false;
    queue_.clear();
    out.push_back({"reset", "{\"reason\":\"behind\"}"});
    return out;
  }
  out.assign(queue_.begin(), queue_.end());
  queue_.clear();
  return out;
}

bool EventStream::Subscriber::stopping() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stop_;
}

EventStream::EventStream(std::string conninfo, size_t queueLimit, size_t maxSubscribers)
    : conninfo_(std::move(conninfo)), queueLimit_(queueLimit), maxSubscribers_(maxSubscribers) {}

EventStream::~EventStream() {
  stop();
}

void EventStream::start() {
  thread_ = std::thread([this] { run(); });
}

void EventStream::stop() {
  {
    std::lock_guard<std::mutex> lock(stopMutex_);
    stop_ = true;
  }
  stopCv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& s : subscribers_) {
    std::lock_guard<std::mutex> sl(s->mutex_);
    s->stop_ = true;
    s->cv_.notify_all();
  }
}

std::shared_ptr<EventStream::Subscriber> EventStream::subscribe() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (subscribers_.size() >= maxSubscribers_) {
    return nullptr;
  }
  auto s = std::make_shared<Subscriber>();
  {
    std::lock_guard<std::mutex> stopLock(stopMutex_);
    s->stop_ = stop_;
  }
  subscribers_.push_back(s);
  return s;
}

void EventStream::unsubscribe(const std::shared_ptr<Subscriber>& s) {
  std::lock_guard<std::mutex> lock(mutex_);
  subscribers_.erase(std::remove(subscribers_.begin(), subscribers_.end(), s), subscribers_.end());
}

size_t EventStream::subscribers() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return subscribers_.size();
}

void EventStream::onSession(std::function<void(const std::string&)> callback) {
  std::lock_guard<std::mutex> lock(mutex_);
  onSession_ = std::move(callback);
}

void EventStream::publish(const StreamEvent& e) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& s : subscribers_) {
    std::lock_guard<std::mutex> sl(s->mutex_);
    if (s->queue_.size() >= queueLimit_) {
      s->overflowed_ = true;
    } else {
      s->queue_.push_back(e);
    }
    s->cv_.notify_one();
  }
}

void EventStream::run() {
  int backoffMs = 200;
  bool everConnected = false;
  auto stopping = [this] {
    std::lock_guard<std::mutex> lock(stopMutex_);
    return stop_;
  };
  while (!stopping()) {
    auto db = pg::Connection::open(conninfo_, "cloud-dispatcher-web-stream");
    VoidResult listening = db ? VoidResult() : VoidResult(db.error());
    for (const char* channel : {"edgelink_session", kResponseChannel, kEventChannel}) {
      if (listening) {
        listening = db.value()->listen(channel);
      }
    }
    if (!listening) {
      spdlog::warn("web: live updates: {} (retrying in {} ms)", listening.error().describe(),
                   backoffMs);
      std::unique_lock<std::mutex> lock(stopMutex_);
      stopCv_.wait_for(lock, std::chrono::milliseconds(backoffMs), [this] { return stop_; });
      backoffMs = std::min(backoffMs * 2, 10000);
      continue;
    }
    if (everConnected) {
      publish({"reset", "{\"reason\":\"reconnected\"}"});  // what came meanwhile is unknown
    }
    everConnected = true;
    backoffMs = 200;
    while (!stopping()) {
      auto n = db.value()->waitNotification(250);
      if (!n) {
        spdlog::warn("web: live updates: {}", n.error().describe());
        break;
      }
      if (!n->has_value()) {
        continue;
      }
      const std::string name = eventNameForChannel((*n)->channel);
      if (name.empty()) {
        continue;
      }
      if (name == "session") {
        std::function<void(const std::string&)> callback;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          callback = onSession_;
        }
        if (callback) {
          callback((*n)->payload);
        }
      }
      publish({name, (*n)->payload});
    }
  }
}

}  // namespace edgelink::dispatcher::web
