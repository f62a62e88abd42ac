#pragma once

// frp sessions: derived from start/stop requests, their answers and frp events; opened by the CLI
// with ports from the pool. The decisions are pure functions (unit-tested); the Sessions class
// applies them with SQL inside the caller's transaction.
//
// One active session per edge; starts awaiting their answer ('opening') may sit beside it.
// States: opening (start requested, no answer yet) -> active (answered 200 or frp_started) ->
// closed (stopped: requested, auto_stop, exited_unexpectedly, agent_shutdown, expired_while_down,
// replaced, expired) or failed (start_failed, stale, no_answer, publish_failed).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/result.h"
#include "db/pg.h"
#include "domain/audit.h"
#include "domain/model.h"
#include "options.h"

namespace edgelink::dispatcher {

using Services = std::map<std::string, int>;  ///< service -> remote port (0: stcp, no port)

/// A session that has not ended.
struct LiveSession {
  int64_t sessionId = 0;
  std::string requestId;
  std::string state;  ///< opening / active
  Services services;
  int64_t requestedAtMs = 0;
};

// ---- pure decisions ---------------------------------------------------------------------------

/// Picks `count` distinct free ports from `pool`, starting at an offset derived from `seed` (so
/// concurrent openers rarely pick the same ones) and wrapping around. Empty when too few are
/// free.
std::vector<int> choosePorts(const PortRange& pool, const std::set<int>& used, size_t count,
                             uint64_t seed);

enum class StartDecision {
  kIgnore,   ///< a session for this request exists already (the CLI opened it)
  kCreate,   ///< no live session: record a new one (opening)
  kExtend,   ///< the live session has the same ports: the agent only moves its deadline
  kReplace,  ///< the live session has other ports: a new one opens beside it; the live one ends
             ///< ('replaced') only when the edge answers the new start 200
};
StartDecision decideStart(bool sessionForRequestExists, const std::optional<LiveSession>& live,
                          const Services& requested);

/// How a failed start answer ends its session: {state, reason}.
std::pair<std::string, std::string> failedStartOutcome(int statusCode);

/// How an frp_stopped reason ends a session: {state, reason}.
std::pair<std::string, std::string> stoppedOutcome(const std::string& stopReason);

/// Which session an frp_stopped event ends: the live one named by the event's request_id, else
/// the live one opened before the event (a 'replaced' stop never ends the session that replaced
/// it).
bool frpStoppedEnds(const LiveSession& live, const FrpInfo& info, int64_t eventAtMs);

/// Whether an frp_started naming a start with no session of its own is the active session going
/// on: it runs the same ports. That is an extension's id (an extension has no row: the edge names
/// it when it resumes the session, after a restart), never a replacement.
bool frpStartedContinues(const LiveSession& live, const FrpInfo& info);

/// expires_at for a session that became active: the answer's, else start + auto-stop.
int64_t expiresAt(const FrpInfo& info, int64_t startedAtMs, std::optional<int64_t> autoStopSeconds,
                  int64_t defaultAutoStopSeconds);

// ---- effects inside the ingest transaction -----------------------------------------------------

struct StartRequested {
  std::string edgeId;
  std::string requestId;
  std::string sender;
  Services services;
  std::optional<int64_t> autoStopSeconds;
  int64_t requestedAtMs = 0;
  AuditActor actor;  ///< who asked (the request's sender and signature), for the audit trail
};

/// A stop request seen by the ingest (the audit trail records who asked; the session ends when
/// the edge answers it).
struct StopRequested {
  std::string edgeId;
  std::string requestId;
  AuditActor actor;
};

/// A start or stop request of an frp type and its answer, both stored now: what the request
/// asked and what the edge answered, as the ingest read them.
struct Answered {
  std::string edgeId;
  std::string requestId;
  envelope::FrpCommand command;  ///< the request's
  std::string sender;            ///< the request's
  int64_t sentAtMs = 0;          ///< the request's
  int statusCode = 0;            ///< the answer's
  FrpInfo info;                  ///< the answer's body
  int64_t answeredAtMs = 0;      ///< when the answer was received
};

struct FrpEventSeen {
  std::string edgeId;
  std::string eventId;
  std::string type;  ///< frp_started / frp_stopped
  FrpInfo info;
  int64_t eventAtMs = 0;
};

/// A session that was opened by the CLI.
struct OpenedSession {
  int64_t sessionId = 0;
  Services services;
};

/// Sessions a Sessions object made active or ended (for the metrics; counted as the statements
/// ran, so only meaningful once their transaction committed).
struct SessionTally {
  int64_t opened = 0;
  std::map<std::string, int64_t> ended;  ///< end reason -> sessions
};

class Sessions {
 public:
  Sessions(pg::Connection& db, const Options& options) : db_(db), options_(options) {}

  /// Counts the sessions it makes active or ends into `tally` (null: not counted).
  void countInto(SessionTally* tally) { tally_ = tally; }
  /// Who the audit trail names for what this object does on its own (open, end): the dispatcher
  /// unless told otherwise (the CLI's operator).
  void actAs(AuditActor actor) { actor_ = std::move(actor); }

  VoidResult onStartRequested(const StartRequested& e);
  VoidResult onAnswered(const Answered& e);
  VoidResult onFrpEvent(const FrpEventSeen& e);
  /// Audit only: who asked to stop the edge's frp (the session ends on the edge's answer).
  VoidResult onStopRequested(const StopRequested& e);

  /// CLI: reserves ports from the pool and records an opening session, in its own transaction;
  /// retries when a concurrent opener took the same ports. kConflict: the edge has a live session
  /// or the pool is exhausted. With `stcpSecret`, an stcp session: no ports (every service 0),
  /// the secret stored with it.
  Result<OpenedSession> open(const std::string& edgeId, const std::string& requestId,
                             const std::string& openedBy, const std::vector<std::string>& services,
                             int64_t autoStopSeconds, int64_t nowMs,
                             const std::string& stcpSecret = std::string());
  /// Ends a session (its own statement; the trigger frees its ports).
  VoidResult end(int64_t sessionId, const std::string& state, const std::string& reason,
                 const std::string& detail);
  /// The live session of an edge, if any.
  Result<std::optional<LiveSession>> live(const std::string& edgeId, bool forUpdate = false);
  /// Ends sessions past expires_at + grace ('expired'), unanswered ones older than the edges'
  /// max age, and those whose start carried expires_at and timed out ('no_answer'). Returns how
  /// many ended.
  Result<int64_t> sweep();

 private:
  Result<std::optional<int64_t>> create(const std::string& edgeId, const std::string& requestId,
                                        const std::string& openedBy, const Services& services,
                                        std::optional<int64_t> autoStop, const std::string& state,
                                        int64_t requestedAtMs, std::optional<int64_t> startedAtMs,
                                        std::optional<int64_t> expiresAtMs);
  VoidResult onStopAnswered(const Answered& e);
  VoidResult onStartAnswered(const Answered& e, const std::optional<LiveSession>& live);
  VoidResult activate(int64_t sessionId, int64_t startedAtMs, int64_t expiresAtMs);
  /// Ends the edge's active session unless it is `keepSessionId` ('replaced').
  VoidResult endOtherActive(const std::string& edgeId, int64_t keepSessionId,
                            const std::string& detail);
  VoidResult revive(int64_t sessionId, const std::string& edgeId, const std::string& requestId,
                    int64_t startedAtMs, int64_t expiresAtMs);

  /// Records the sessions an UPDATE ... RETURNING session_id, edge_id, state, end_reason ended.
  VoidResult auditEnded(const pg::Rows& ended, const char* action, const std::string& note);

  void noteOpened(int64_t n) {
    if (tally_ != nullptr) {
      tally_->opened += n;
    }
  }
  void noteEnded(const std::string& reason, int64_t n) {
    if (tally_ != nullptr && n > 0) {
      tally_->ended[reason] += n;
    }
  }

  pg::Connection& db_;
  const Options& options_;
  SessionTally* tally_ = nullptr;
  AuditActor actor_ = systemActor();
};

/// {"ssh": 31022} as JSON text, and back.
std::string servicesJson(const Services& services);
Services parseServicesJson(const std::string& json);

}  // namespace edgelink::dispatcher
