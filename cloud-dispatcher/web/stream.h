#pragma once

// Live updates for the console: one PostgreSQL connection LISTENs on the dispatcher's channels
// (edgelink_session, edgelink_response, edgelink_event) and fans every notification out to the
// subscribers (one per open page, GET /api/v1/stream as server-sent events). A subscriber that
// falls behind by more than its queue holds, or a LISTEN connection that was lost and came back,
// gets a `reset` (the page re-reads what it shows): nothing is silently missed.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace edgelink::dispatcher::web {

/// One server-sent event: its name (session, response, event, reset) and its data (JSON).
struct StreamEvent {
  std::string name;
  std::string data;
};

/// The wire form of one event ("event: session\ndata: {...}\n\n"); newlines in data are split
/// over several data lines, as the format wants.
std::string formatServerSentEvent(const StreamEvent& e);
/// The event name for a channel: edgelink_session -> session, ... ("" for another channel).
std::string eventNameForChannel(const std::string& channel);

class EventStream {
 public:
  class Subscriber {
   public:
    /// Waits up to `timeoutMs` for events; returns what queued (empty: timed out or stopping).
    std::vector<StreamEvent> wait(int timeoutMs);
    bool stopping() const;

   private:
    friend class EventStream;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<StreamEvent> queue_;
    bool overflowed_ = false;
    bool stop_ = false;
  };

  /// `queueLimit`: events one subscriber may hold before it is sent a reset instead;
  /// `maxSubscribers`: at most this many open streams. Starts no thread until start().
  EventStream(std::string conninfo, size_t queueLimit, size_t maxSubscribers);
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  /// Starts the LISTEN thread (it reconnects with a backoff while the database is away).
  void start();
  /// Stops the thread and wakes every subscriber (they see stopping()).
  void stop();

  /// A new subscriber; nullptr when maxSubscribers are open.
  std::shared_ptr<Subscriber> subscribe();
  void unsubscribe(const std::shared_ptr<Subscriber>& s);
  size_t subscribers() const;

  /// Called (on the LISTEN thread) for every session notification's payload: the web ssh
  /// terminals close when their session ends.
  void onSession(std::function<void(const std::string& payload)> callback);

  /// Hands `e` to every subscriber (the LISTEN thread does; tests too).
  void publish(const StreamEvent& e);

 private:
  void run();

  const std::string conninfo_;
  const size_t queueLimit_;
  const size_t maxSubscribers_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;
  std::function<void(const std::string&)> onSession_;
  std::mutex stopMutex_;
  std::condition_variable stopCv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace edgelink::dispatcher::web
