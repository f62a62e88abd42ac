#pragma once

// Web ssh: the WebSocket endpoint /api/v1/sessions/{id}/terminal (docs/WEB.md, "Web ssh").
//
// Client -> server: binary frames are keystrokes; text frames are JSON control messages,
// {"type":"start","user":"root","password":"..."(optional),"cols":80,"rows":24} first, then
// {"type":"resize","cols":N,"rows":M}. Server -> client: binary frames are terminal output; text
// frames {"type":"status","state":"connecting|connected|closed","message":"..."}. A closed status
// is the last message before the server closes the WebSocket.
//
// The pure part (parseControlMessage, statusMessage) has no I/O. TerminalHub is the glue: civetweb
// callbacks, one thread per live terminal pumping ssh output to the browser.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/result.h"
#include "observe/civetweb_listener.h"
#include "web/ssh_bridge.h"
#include "web/stcp_visitor.h"

struct mg_connection;

namespace edgelink::dispatcher::web {

/// Limits of the control messages (larger is an error, not truncated).
inline constexpr size_t kMaxControlMessageBytes = 4096;
inline constexpr size_t kMaxUserLength = 64;
inline constexpr size_t kMaxPasswordLength = 1024;
inline constexpr int kMaxTerminalCols = 1000;
inline constexpr int kMaxTerminalRows = 1000;
/// A keystroke frame larger than this (a huge paste) closes the terminal.
inline constexpr size_t kMaxInputFrameBytes = 1 << 20;

struct StartMessage {
  std::string user;
  std::optional<std::string> password;
  int cols = 80;
  int rows = 24;
};
struct ResizeMessage {
  int cols = 80;
  int rows = 24;
};
using ControlMessage = std::variant<StartMessage, ResizeMessage>;

/// Parses one text frame (pure, strict): a JSON object with "type" "start" or "resize", only the
/// members above, each of its type (user: 1..64 of [A-Za-z0-9._-], not starting with '-';
/// password: a string up to 1024 bytes without NUL; cols/rows integers 1..1000), no duplicate
/// members, valid UTF-8, at most kMaxControlMessageBytes. Errors are 400 naming the member.
Result<ControlMessage> parseControlMessage(std::string_view text);

/// The session id in a terminal request's path "/api/v1/sessions/{id}/terminal" (a decimal
/// 1..2^63-1 without sign or leading zero); nullopt for anything else (pure).
std::optional<int64_t> terminalSessionId(std::string_view path);

enum class TerminalState { kConnecting, kConnected, kClosed };
const char* terminalStateName(TerminalState state);
/// {"type":"status","state":"...","message":"..."} (JSON-escaped).
std::string statusMessage(TerminalState state, const std::string& message);

/// What the lead's authorization found for one WebSocket: who, which session, where its ssh is.
struct TerminalGrant {
  std::string userName;  ///< the web user (logs)
  int64_t sessionId = 0;
  std::string host;  ///< tcp sessions: options.frpsHost; ignored for stcp
  int port = 0;      ///< tcp sessions: the session's ssh port; ignored for stcp
  std::string edgeId;
  struct Stcp {
    std::string secret;  ///< the session's stcp secret (never logged)
  };
  std::optional<Stcp> stcp;  ///< set: reach ssh through an frpc visitor the hub runs
};

struct TerminalSettings {
  std::string keyFile;         ///< web-ssh-key-file: private key (0600) used without a password
  std::string knownHostsFile;  ///< web-ssh-known-hosts-file: pinned host keys (created 0600)
  HostKeyPolicy hostKeyPolicy = HostKeyPolicy::kAcceptNew;  ///< web-ssh-host-keys
  int maxTerminals = 16;         ///< live terminals at once; more get a closed status
  int idleTimeoutSeconds = 900;  ///< no keystroke and no output that long: closed
  int connectTimeoutMs = 10000;  ///< ssh connect bound (stcp.startTimeoutMs: the visitor)
  StcpVisitorSettings stcp;      ///< frpc path and frps for stcp sessions
};

/// What happened to one terminal, for the audit (web_audit): "connected" once ssh is up, then
/// exactly one end: "ended" (the shell exited or the connection dropped), "stopped" (session
/// ended, browser closed, dispatcher stopping, protocol error), "idle", "no_start",
/// "ssh_failed", "visitor_failed". A terminal refused at connect or over the limit has none.
struct TerminalEvent {
  const TerminalGrant& grant;
  const std::string& sshUser;  ///< the start message's user ("" before one came)
  const char* outcome;
  const std::string& message;  ///< as shown to the browser; never a password or key
  int64_t ms = 0;              ///< since the WebSocket opened
};

/// The web ssh endpoint. Declare it before the CivetwebListener it is attached to: the
/// listener, destroyed first, stops the callbacks; the hub's destructor then ends the terminals
/// and joins their threads.
class TerminalHub {
 public:
  using Authorize = std::function<std::optional<TerminalGrant>(const mg_connection*)>;

  /// `authorize` runs in civetweb's connect callback (no exception may leave it: one that does
  /// refuses the connection); nullopt refuses it (civetweb closes it).
  TerminalHub(TerminalSettings settings, Authorize authorize);
  ~TerminalHub();
  TerminalHub(const TerminalHub&) = delete;
  TerminalHub& operator=(const TerminalHub&) = delete;

  /// The route pattern registered by attach() (civetweb's: '*' is one path segment, '$' the
  /// end).
  static constexpr const char* kRoute = "/api/v1/sessions/*/terminal$";
  /// Serves the WebSocket route on `listener`.
  void attach(CivetwebListener& listener);

  /// Called (from the terminal's thread; exceptions are swallowed) on every TerminalEvent. Set it
  /// before attach().
  void onEvent(std::function<void(const TerminalEvent&)> hook) { eventHook_ = std::move(hook); }

  /// Session `sessionId` ended (LISTEN/NOTIFY): its terminals get a closed status and close.
  void sessionEnded(int64_t sessionId);
  /// Terminals whose thread still runs (tests, metrics).
  int liveTerminals() const;

  struct Terminal;  // one WebSocket (terminal.cpp)

 private:
  static int onConnect(const mg_connection* conn, void* data);
  static void onReady(mg_connection* conn, void* data);
  static int onData(mg_connection* conn, int flags, char* bytes, size_t size, void* data);
  static void onClose(const mg_connection* conn, void* data);

  int connect(const mg_connection* conn);
  void ready(mg_connection* conn);
  int data(mg_connection* conn, int flags, char* bytes, size_t size);
  void close(const mg_connection* conn);
  void run(const std::shared_ptr<Terminal>& terminal);
  void reapLocked();
  std::shared_ptr<Terminal> find(const mg_connection* conn) const;

  TerminalSettings settings_;
  Authorize authorize_;
  std::function<void(const TerminalEvent&)> eventHook_;
  mutable std::mutex mutex_;
  std::map<const mg_connection*, std::shared_ptr<Terminal>> open_;  ///< WebSockets open now
  std::map<Terminal*, std::shared_ptr<Terminal>> running_;          ///< threads to join
};

}  // namespace edgelink::dispatcher::web
