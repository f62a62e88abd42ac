#include "web/terminal.h"

#include <civetweb.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>

#include "core/logging.h"

namespace edgelink::dispatcher::web {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = log::get("dispatcher");
  return l;
}

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Error bad(const std::string& message, const std::string& field = {}) {
  return Error(Status::kBadRequest, message, field);
}

Result<int> sizeMember(const rapidjson::Value& v, const char* name, int max) {
  if (!v.IsInt() || v.GetInt() < 1 || v.GetInt() > max) {
    return bad("must be an integer from 1 to " + std::to_string(max), name);
  }
  return v.GetInt();
}

bool validUser(const std::string& user) {
  if (user.empty() || user.size() > kMaxUserLength || user[0] == '-') {
    return false;
  }
  for (char c : user) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;
    }
  }
  return true;
}

/// How long a WebSocket may stay open without a start message.
constexpr int kStartTimeoutMs = 30000;
/// Keystrokes typed before ssh is connected, kept up to this much.
constexpr size_t kMaxPendingInput = 64 * 1024;

}  // namespace

Result<ControlMessage> parseControlMessage(std::string_view text) {
  if (text.size() > kMaxControlMessageBytes) {
    return Error(Status::kTooLarge, "control message larger than " +
                                        std::to_string(kMaxControlMessageBytes) + " bytes");
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.data(), text.size());
  if (doc.HasParseError()) {
    return bad(std::string("control message is not JSON: ") +
               rapidjson::GetParseError_En(doc.GetParseError()));
  }
  if (!doc.IsObject()) {
    return bad("control message must be a JSON object");
  }
  std::set<std::string> seen;
  for (const auto& m : doc.GetObject()) {
    std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!seen.insert(name).second) {
      return bad("duplicate member", name);
    }
  }
  auto type = doc.FindMember("type");
  if (type == doc.MemberEnd() || !type->value.IsString()) {
    return bad("missing, or not a string", "type");
  }
  std::string kind(type->value.GetString(), type->value.GetStringLength());
  std::set<std::string> allowed;
  if (kind == "start") {
    allowed = {"type", "user", "password", "cols", "rows"};
  } else if (kind == "resize") {
    allowed = {"type", "cols", "rows"};
  } else {
    return bad("unknown control message type '" + kind.substr(0, 32) + "' (start or resize)",
               "type");
  }
  for (const auto& name : seen) {
    if (allowed.count(name) == 0) {
      return bad("unknown member in a " + kind + " message", name.substr(0, 64));
    }
  }
  auto cols = doc.FindMember("cols");
  auto rows = doc.FindMember("rows");
  if (cols == doc.MemberEnd()) {
    return bad("missing", "cols");
  }
  if (rows == doc.MemberEnd()) {
    return bad("missing", "rows");
  }
  auto c = sizeMember(cols->value, "cols", kMaxTerminalCols);
  if (!c) {
    return c.error();
  }
  auto r = sizeMember(rows->value, "rows", kMaxTerminalRows);
  if (!r) {
    return r.error();
  }
  if (kind == "resize") {
    return ControlMessage(ResizeMessage{*c, *r});
  }
  StartMessage start;
  start.cols = *c;
  start.rows = *r;
  auto user = doc.FindMember("user");
  if (user == doc.MemberEnd() || !user->value.IsString()) {
    return bad("missing, or not a string", "user");
  }
  start.user.assign(user->value.GetString(), user->value.GetStringLength());
  if (!validUser(start.user)) {
    return bad("must be 1 to " + std::to_string(kMaxUserLength) +
                   " of A-Z a-z 0-9 . _ - (not starting with -)",
               "user");
  }
  auto password = doc.FindMember("password");
  if (password != doc.MemberEnd()) {
    if (!password->value.IsString()) {
      return bad("must be a string", "password");
    }
    std::string p(password->value.GetString(), password->value.GetStringLength());
    if (p.size() > kMaxPasswordLength) {
      return bad("longer than " + std::to_string(kMaxPasswordLength) + " bytes", "password");
    }
    if (p.find('\0') != std::string::npos) {
      return bad("must not contain NUL", "password");
    }
    start.password = std::move(p);
  }
  return ControlMessage(std::move(start));
}

std::optional<int64_t> terminalSessionId(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/v1/sessions/";
  constexpr std::string_view kSuffix = "/terminal";
  if (path.size() <= kPrefix.size() + kSuffix.size() || path.substr(0, kPrefix.size()) != kPrefix ||
      path.substr(path.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  std::string_view digits =
      path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size());
  if (digits.empty() || digits.size() > 19 || digits[0] == '0') {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > static_cast<uint64_t>(INT64_MAX)) {
    return std::nullopt;
  }
  return static_cast<int64_t>(value);
}

const char* terminalStateName(TerminalState state) {
  switch (state) {
    case TerminalState::kConnecting:
      return "connecting";
    case TerminalState::kConnected:
      return "connected";
    case TerminalState::kClosed:
      break;
  }
  return "closed";
}

std::string statusMessage(TerminalState state, const std::string& message) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("type");
  w.String("status");
  w.Key("state");
  w.String(terminalStateName(state));
  w.Key("message");
  w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize());
}

// ---- the glue ---------------------------------------------------------------------------------

struct TerminalHub::Terminal {
  TerminalGrant grant;
  bool overLimit = false;

  std::mutex mutex;                   // everything below but the atomics
  std::condition_variable wake;       // start arrived, or stop
  mg_connection* conn = nullptr;      // from ready until close
  std::optional<StartMessage> start;  // the start message, until the thread takes it
  bool started = false;               // a start message came
  bool closedSent = false;
  std::shared_ptr<SshBridge> bridge;  // while connected
  std::string pending;                // keystrokes before connected
  std::optional<ResizeMessage> pendingSize;
  bool stop = false;
  std::string stopMessage;
  std::thread thread;

  std::atomic<int64_t> lastActivityMs{nowMs()};
  std::atomic<bool> finished{false};

  /// Sends one frame while the WebSocket is open (false when it is not, or the write failed).
  bool sendLocked(int opcode, const char* data, size_t size) {
    if (conn == nullptr) {
      return false;
    }
    mg_lock_connection(conn);
    int n = mg_websocket_write(conn, opcode, data, size);
    mg_unlock_connection(conn);
    return n > 0;
  }
  bool send(int opcode, const char* data, size_t size) {
    std::lock_guard<std::mutex> lock(mutex);
    return sendLocked(opcode, data, size);
  }
  void status(TerminalState state, const std::string& message) {
    std::string text = statusMessage(state, message);
    std::lock_guard<std::mutex> lock(mutex);
    if (!closedSent) {
      sendLocked(MG_WEBSOCKET_OPCODE_TEXT, text.data(), text.size());
    }
  }
  /// The closed status (once) and the close frame.
  void closeLocked(const std::string& message) {
    if (closedSent) {
      return;
    }
    closedSent = true;
    std::string text = statusMessage(TerminalState::kClosed, message);
    sendLocked(MG_WEBSOCKET_OPCODE_TEXT, text.data(), text.size());
    const char normal[2] = {0x03, static_cast<char>(0xE8)};  // 1000: normal closure
    sendLocked(MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, normal, sizeof normal);
  }
  void requestStop(const std::string& message) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!stop) {
      stop = true;
      stopMessage = message;
    }
    wake.notify_all();
  }
};

TerminalHub::TerminalHub(TerminalSettings settings, Authorize authorize)
    : settings_(std::move(settings)), authorize_(std::move(authorize)) {}

TerminalHub::~TerminalHub() {
  std::map<Terminal*, std::shared_ptr<Terminal>> running;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running.swap(running_);
    open_.clear();
  }
  for (auto& [raw, t] : running) {
    t->requestStop("the dispatcher is stopping");
  }
  for (auto& [raw, t] : running) {
    if (t->thread.joinable()) {
      t->thread.join();
    }
  }
}

void TerminalHub::attach(CivetwebListener& listener) {
  listener.handleWebSocket(kRoute, &TerminalHub::onConnect, &TerminalHub::onReady,
                           &TerminalHub::onData, &TerminalHub::onClose, this);
}

int TerminalHub::liveTerminals() const {
  std::lock_guard<std::mutex> lock(mutex_);
  int n = 0;
  for (const auto& [raw, t] : running_) {
    n += t->finished ? 0 : 1;
  }
  return n;
}

void TerminalHub::sessionEnded(int64_t sessionId) {
  std::vector<std::shared_ptr<Terminal>> hit;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [conn, t] : open_) {
      if (t->grant.sessionId == sessionId) {
        hit.push_back(t);
      }
    }
  }
  for (auto& t : hit) {
    t->requestStop("session " + std::to_string(sessionId) + " ended");
  }
}

std::shared_ptr<TerminalHub::Terminal> TerminalHub::find(const mg_connection* conn) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = open_.find(conn);
  return it == open_.end() ? nullptr : it->second;
}

void TerminalHub::reapLocked() {
  for (auto it = running_.begin(); it != running_.end();) {
    if (it->second->finished) {
      if (it->second->thread.joinable()) {
        it->second->thread.join();
      }
      it = running_.erase(it);
    } else {
      ++it;
    }
  }
}

int TerminalHub::onConnect(const mg_connection* conn, void* data) {
  try {
    return static_cast<TerminalHub*>(data)->connect(conn);
  } catch (...) {
    return 1;
  }
}

void TerminalHub::onReady(mg_connection* conn, void* data) {
  try {
    static_cast<TerminalHub*>(data)->ready(conn);
  } catch (...) {
  }
}

int TerminalHub::onData(mg_connection* conn, int flags, char* bytes, size_t size, void* data) {
  try {
    return static_cast<TerminalHub*>(data)->data(conn, flags, bytes, size);
  } catch (...) {
    return 0;
  }
}

void TerminalHub::onClose(const mg_connection* conn, void* data) {
  try {
    static_cast<TerminalHub*>(data)->close(conn);
  } catch (...) {
  }
}

int TerminalHub::connect(const mg_connection* conn) {
  std::optional<TerminalGrant> grant;
  try {
    grant = authorize_(conn);
  } catch (const std::exception& e) {
    logger()->warn("terminal outcome=500 error={}", e.what());
    return 1;
  }
  if (!grant) {
    return 1;
  }
  auto t = std::make_shared<Terminal>();
  t->grant = std::move(*grant);
  std::lock_guard<std::mutex> lock(mutex_);
  reapLocked();
  t->overLimit = static_cast<int>(open_.size()) >= settings_.maxTerminals;
  open_[conn] = t;
  return 0;
}

void TerminalHub::ready(mg_connection* conn) {
  auto t = find(conn);
  if (!t) {
    return;
  }
  std::lock_guard<std::mutex> lock(t->mutex);
  t->conn = conn;
  if (t->overLimit) {
    t->closeLocked("too many live terminals (the limit is " +
                   std::to_string(settings_.maxTerminals) + "): close one and retry");
    return;
  }
  std::lock_guard<std::mutex> hubLock(mutex_);
  running_[t.get()] = t;
  t->thread = std::thread([this, t] {
    try {
      run(t);
    } catch (...) {
      std::lock_guard<std::mutex> guard(t->mutex);
      t->closeLocked("internal error");
    }
    t->finished = true;
  });
}

int TerminalHub::data(mg_connection* conn, int flags, char* bytes, size_t size) {
  auto t = find(conn);
  if (!t) {
    return 0;
  }
  const int opcode = flags & 0x0f;
  if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE) {
    t->requestStop("the browser closed the terminal");
    return 0;
  }
  if (opcode == MG_WEBSOCKET_OPCODE_PING || opcode == MG_WEBSOCKET_OPCODE_PONG) {
    return 1;
  }
  if (t->overLimit) {
    return 1;  // the close frame is on its way
  }
  auto fail = [&](const std::string& message) {
    {
      std::lock_guard<std::mutex> lock(t->mutex);
      t->closeLocked(message);
    }
    t->requestStop(message);
    return 0;
  };
  if (opcode == MG_WEBSOCKET_OPCODE_TEXT) {
    auto message = parseControlMessage(std::string_view(bytes, size));
    if (!message) {
      return fail("bad control message: " + message.error().describe());
    }
    if (auto* start = std::get_if<StartMessage>(&*message)) {
      std::lock_guard<std::mutex> lock(t->mutex);
      if (t->started) {
        t->closeLocked("bad control message: start sent twice");
        t->stop = true;
        t->stopMessage = "start sent twice";
        t->wake.notify_all();
        return 0;
      }
      t->started = true;
      t->start = std::move(*start);
      t->wake.notify_all();
      return 1;
    }
    const auto& resize = std::get<ResizeMessage>(*message);
    std::shared_ptr<SshBridge> bridge;
    {
      std::lock_guard<std::mutex> lock(t->mutex);
      if (!t->bridge) {
        t->pendingSize = resize;
        return 1;
      }
      bridge = t->bridge;
    }
    (void)bridge->resize(resize.cols, resize.rows);  // a failed resize is not worth a close
    return 1;
  }
  if (opcode == MG_WEBSOCKET_OPCODE_BINARY || opcode == MG_WEBSOCKET_OPCODE_CONTINUATION) {
    if (size > kMaxInputFrameBytes) {
      return fail("input frame larger than " + std::to_string(kMaxInputFrameBytes) + " bytes");
    }
    t->lastActivityMs = nowMs();
    std::shared_ptr<SshBridge> bridge;
    {
      std::lock_guard<std::mutex> lock(t->mutex);
      if (!t->bridge) {
        if (t->pending.size() + size > kMaxPendingInput) {
          return 1;  // typed ahead too much before ssh connected: dropped
        }
        t->pending.append(bytes, size);
        return 1;
      }
      bridge = t->bridge;
    }
    (void)bridge->write(bytes, size);  // a failure ends the shell: the pump reports it
    return 1;
  }
  return 1;
}

void TerminalHub::close(const mg_connection* conn) {
  std::shared_ptr<Terminal> t;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = open_.find(conn);
    if (it == open_.end()) {
      return;
    }
    t = it->second;
    open_.erase(it);
  }
  {
    std::lock_guard<std::mutex> lock(t->mutex);
    t->conn = nullptr;  // never written to again
  }
  t->requestStop("the browser closed the terminal");
}

void TerminalHub::run(const std::shared_ptr<Terminal>& t) {
  const auto began = std::chrono::steady_clock::now();
  const TerminalGrant& g = t->grant;
  StartMessage start;
  auto event = [&](const char* outcome, const std::string& message) {
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - began)
                           .count();
    logger()->info("terminal session={} edge={} user={} ssh_user={} outcome={} ms={} reason=\"{}\"",
                   g.sessionId, g.edgeId, g.userName, start.user, outcome, ms, message);
    if (eventHook_) {
      try {
        eventHook_(TerminalEvent{g, start.user, outcome, message, ms});
      } catch (...) {
      }
    }
  };
  auto finish = [&](const std::string& message, const char* outcome) {
    {
      std::lock_guard<std::mutex> lock(t->mutex);
      t->closeLocked(message);
      t->bridge.reset();
    }
    event(outcome, message);
  };

  {
    std::unique_lock<std::mutex> lock(t->mutex);
    bool woke = t->wake.wait_for(lock, std::chrono::milliseconds(kStartTimeoutMs),
                                 [&] { return t->stop || t->start.has_value(); });
    if (t->stop) {
      std::string message = t->stopMessage;
      lock.unlock();
      finish(message, "stopped");
      return;
    }
    if (!woke) {
      lock.unlock();
      finish("no start message within " + std::to_string(kStartTimeoutMs / 1000) + " s",
             "no_start");
      return;
    }
    start = std::move(*t->start);
    t->start.reset();
  }

  SshTarget target;
  target.host = g.host;
  target.port = g.port;
  target.user = start.user;
  target.password = std::move(start.password);
  target.keyFile = settings_.keyFile;
  target.knownHostsFile = settings_.knownHostsFile;
  target.hostKeyName = "edge:" + g.edgeId;
  target.hostKeyPolicy = settings_.hostKeyPolicy;
  target.connectTimeoutMs = settings_.connectTimeoutMs;

  std::unique_ptr<StcpVisitor> visitor;
  std::string via = g.host + ":" + std::to_string(g.port);
  if (g.stcp) {
    t->status(TerminalState::kConnecting,
              "starting an frpc visitor for stcp session " + std::to_string(g.sessionId));
    auto v = StcpVisitor::start(settings_.stcp, g.edgeId, g.sessionId, g.stcp->secret);
    if (!v) {
      finish(v.error().message, "visitor_failed");
      return;
    }
    visitor = std::move(*v);
    target.host = "127.0.0.1";
    target.port = visitor->port();
    via = "an stcp visitor on 127.0.0.1:" + std::to_string(visitor->port());
  }
  t->status(TerminalState::kConnecting,
            "connecting to " + start.user + "@" + g.edgeId + " (" + via + ")");
  auto opened = SshBridge::open(target, start.cols, start.rows);
  if (target.password) {
    std::fill(target.password->begin(), target.password->end(), '\0');
  }
  if (!opened) {
    finish(opened.error().message, "ssh_failed");
    return;
  }
  std::shared_ptr<SshBridge> bridge = std::move(*opened);
  std::string pending;
  std::optional<ResizeMessage> size;
  std::optional<std::string> stoppedBy;
  {
    std::lock_guard<std::mutex> lock(t->mutex);
    if (t->stop) {
      stoppedBy = t->stopMessage;
    } else {
      t->bridge = bridge;
      pending.swap(t->pending);
      size = t->pendingSize;
      t->pendingSize.reset();
    }
  }
  if (stoppedBy) {
    finish(*stoppedBy, "stopped");
    return;
  }
  const std::string connected = "connected to " + start.user + "@" + g.edgeId + " (" + via + ")";
  t->status(TerminalState::kConnected, connected);
  event("connected", connected);
  if (size) {
    (void)bridge->resize(size->cols, size->rows);
  }
  if (!pending.empty()) {
    (void)bridge->write(pending.data(), pending.size());
  }
  t->lastActivityMs = nowMs();
  const int64_t idleMs = static_cast<int64_t>(settings_.idleTimeoutSeconds) * 1000;
  for (;;) {
    {
      std::lock_guard<std::mutex> lock(t->mutex);
      if (t->stop) {
        break;
      }
    }
    bool alive = bridge->pump(100, [&](const char* data, size_t n) {
      t->lastActivityMs = nowMs();
      t->send(MG_WEBSOCKET_OPCODE_BINARY, data, n);
    });
    if (!alive) {
      finish(bridge->endReason(), "ended");
      return;
    }
    if (idleMs > 0 && nowMs() - t->lastActivityMs > idleMs) {
      finish("idle for " + std::to_string(settings_.idleTimeoutSeconds) + " s: closed", "idle");
      return;
    }
  }
  std::string message;
  {
    std::lock_guard<std::mutex> lock(t->mutex);
    message = t->stopMessage;
  }
  finish(message, "stopped");
}

}  // namespace edgelink::dispatcher::web
