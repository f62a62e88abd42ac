#pragma once

// The agent's persistent state: one small JSON file under the state dir, written atomically.
// It holds the frp session (and the frpc process that serves it), the requests already answered
// (with their responses, so a redelivered id is answered the same way and never acted on twice),
// the Kafka position, and the outbox of responses and events not yet delivered.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "decisions/session.h"
#include "envelope/envelope.h"
#include "frpc_record.h"

namespace edgelink::agent {

/// Requests already answered, with the response sent, keyed by (sender, id): ids are unique
/// per sender. Bounded by count and by age (a redelivery older than the window would be stale
/// anyway, so is never acted on).
class ProcessedIds {
 public:
  struct Entry {
    std::string sender;
    envelope::Id id;
    int64_t atMs = 0;      ///< when it was answered (wall clock)
    std::string response;  ///< the encoded response envelope
  };

  ProcessedIds() = default;
  ProcessedIds(size_t capacity, int64_t windowMs) : capacity_(capacity), windowMs_(windowMs) {}

  const Entry* find(const std::string& sender, const envelope::Id& id) const;
  /// Records an answer (replacing an older one for the same key); evicts the oldest beyond
  /// capacity.
  void add(Entry entry);
  /// Drops entries answered more than the window before `nowMs`.
  void expire(int64_t nowMs);
  const std::deque<Entry>& entries() const { return entries_; }
  size_t size() const { return entries_.size(); }
  void setLimits(size_t capacity, int64_t windowMs);

 private:
  size_t capacity_ = 256;
  int64_t windowMs_ = 2 * 3600 * 1000;
  std::deque<Entry> entries_;  // oldest first
};

/// Responses and events waiting for Kafka's delivery report. Each is re-sent after a restart
/// until delivered. A response remembers the request's offset: the consumer's position moves
/// past a request only once its response is delivered.
class Outbox {
 public:
  struct Entry {
    uint64_t seq = 0;
    std::string what;  ///< for logs: "response 111 (ping)", "event frp_started"
    std::string value;
    int32_t partition = -1;  ///< the request's partition/offset, or -1 for events
    int64_t offset = -1;
  };

  Outbox() = default;
  explicit Outbox(size_t capacity) : capacity_(capacity) {}

  /// Adds a message; returns its sequence number. Beyond capacity the oldest event (else the
  /// oldest entry) is dropped, and `dropped` tells what.
  uint64_t add(std::string what, std::string value, int32_t partition = -1, int64_t offset = -1,
               std::string* dropped = nullptr);
  /// Re-adds an entry loaded from the state file (keeps its seq).
  void restore(Entry entry);
  bool remove(uint64_t seq);
  const Entry* find(uint64_t seq) const;
  /// The entry answering the request at (partition, offset), if any.
  const Entry* findByOffset(int32_t partition, int64_t offset) const;
  const std::map<uint64_t, Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  /// Forgets which request each answer is for (partition -1, offset -1): the positions are
  /// another Kafka cluster's after a move.
  void detachPositions() {
    for (auto& entry : entries_) {
      entry.second.partition = -1;
      entry.second.offset = -1;
    }
  }

 private:
  size_t capacity_ = 512;
  uint64_t nextSeq_ = 1;
  std::map<uint64_t, Entry> entries_;  // by seq: oldest first
};

struct AgentState {
  std::string edgeId;
  std::map<int32_t, int64_t> positions;  ///< partition -> next offset to read
  std::optional<Session> session;
  std::optional<FrpcRecord> frpc;
  std::optional<StopInfo> lastStop;
  ProcessedIds processed;
  Outbox outbox;
};

/// JSON text of the state (stable key order, one object).
std::string toJson(const AgentState& state);
/// Parses the state; errors say what is wrong (the caller sets the file aside and starts fresh).
Result<AgentState> stateFromJson(const std::string& text);

/// Loading: a missing file is a fresh state; a corrupt one is renamed to <path>.corrupt-<ms>
/// and replaced by a fresh state, with `warning` saying so.
struct LoadedState {
  AgentState state;
  bool fresh = true;
  std::string warning;
};
LoadedState loadState(const std::string& path, int64_t nowMs);
/// Renames a damaged file to <path>.corrupt-<ms>: "set aside as …", or why it could not be.
std::string setAside(const std::string& path, int64_t nowMs);
/// Writes atomically, mode 0600.
VoidResult saveState(const std::string& path, const AgentState& state);

}  // namespace edgelink::agent
