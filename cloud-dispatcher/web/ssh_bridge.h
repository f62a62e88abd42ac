#pragma once

// The web console's ssh client (libssh): one interactive shell on a pty, as a browser terminal
// drives it. RAII owners for libssh's session, channel and key; every failure is a value with a
// message for the operator (host unreachable, host key mismatch, authentication failed). No
// password, key or key path content is ever logged or put in a message.
//
// Host keys are pinned in a known-hosts file the dispatcher owns (0600), one line per pinned
// name, in OpenSSH's format: "<name> <key type> <base64>". The name is what the caller says
// (SshTarget::hostKeyName); the terminal uses "edge:<edge id>", not host:port, because a
// tunnelled port on frps is handed to another edge once a session ends.

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"

struct ssh_session_struct;
struct ssh_channel_struct;

namespace edgelink::dispatcher::web {

/// What to do with a host key the known-hosts file has no line for (a different key than the
/// pinned one is refused under both).
enum class HostKeyPolicy {
  kAcceptNew,  ///< trust it on first use and pin it (append a line)
  kStrict,     ///< refuse: only keys already in the file are trusted
};
/// "accept-new" / "strict"; parseHostKeyPolicy(name) is nullopt for anything else.
const char* hostKeyPolicyName(HostKeyPolicy policy);
std::optional<HostKeyPolicy> parseHostKeyPolicy(const std::string& name);

/// Where to ssh and as whom.
struct SshTarget {
  std::string host;
  int port = 22;
  std::string user;
  std::optional<std::string> password;  ///< set: password (or keyboard-interactive) auth
  std::string keyFile;         ///< used when no password: a private key, mode 0600, no passphrase
  std::string knownHostsFile;  ///< the dispatcher's own known-hosts file (created 0600)
  std::string hostKeyName;     ///< the name the host key is pinned under; empty: "[host]:port"
  HostKeyPolicy hostKeyPolicy = HostKeyPolicy::kAcceptNew;
  int connectTimeoutMs = 10000;
};

/// One pinned key: "<type> <base64>" as OpenSSH writes it.
struct KnownHostKey {
  std::string type;
  std::string base64;
  bool operator==(const KnownHostKey& o) const { return type == o.type && base64 == o.base64; }
};
/// The keys `text` (a known-hosts file) pins for `name` (pure; lines "name[,name..] type base64
/// [comment]", '#' comments; hashed and marker lines are ignored).
std::vector<KnownHostKey> knownHostKeys(const std::string& text, const std::string& name);
/// The line that pins `key` for `name`.
std::string knownHostLine(const std::string& name, const KnownHostKey& key);

/// A private key file's problem as the bridge checks it before use: not a regular file, or
/// readable or writable by group or others ("... is mode 0644: it must be 0600 (chmod 600
/// FILE)"); nullopt when fine.
std::optional<std::string> keyFileProblem(const std::string& path);

/// One ssh connection running a shell on a pty (TERM xterm-256color). Thread-safe: write() and
/// resize() from one thread (the keystrokes), pump() from another.
class SshBridge {
 public:
  /// Connects (bounded by connectTimeoutMs), checks the host key, authenticates (password when
  /// given, else the key file), opens a channel with a `cols` x `rows` pty and a shell.
  /// Errors: 503 unreachable, 403 host key refused or mismatched, 401 authentication failed,
  /// 400 bad key file, 500 anything else libssh reports.
  static Result<std::unique_ptr<SshBridge>> open(const SshTarget& target, int cols, int rows);
  ~SshBridge();
  SshBridge(const SshBridge&) = delete;
  SshBridge& operator=(const SshBridge&) = delete;

  /// Sends keystrokes to the shell.
  VoidResult write(const char* data, size_t size);
  /// Changes the pty's size (the shell sees SIGWINCH).
  VoidResult resize(int cols, int rows);
  /// Waits up to `timeoutMs` for output (poll on the socket, then non-blocking reads) and gives
  /// every piece to `onOutput`. True while the shell runs; false once it ended (EOF, channel
  /// closed, connection lost: see endReason()).
  bool pump(int timeoutMs, const std::function<void(const char*, size_t)>& onOutput);
  /// Calls pump() until the shell ends or `keepGoing` says false.
  void readLoop(const std::function<void(const char*, size_t)>& onOutput,
                const std::function<bool()>& keepGoing, int pollMs = 100);
  /// Why the shell ended ("the shell exited with status 0", "connection lost: ..."); empty while
  /// it runs.
  std::string endReason() const;
  /// Closes the channel and disconnects (idempotent; the destructor does it).
  void close();
  /// "user@host:port" as shown to the operator.
  const std::string& description() const { return description_; }

 private:
  struct SessionFree {
    void operator()(ssh_session_struct* s) const;
  };
  struct ChannelFree {
    void operator()(ssh_channel_struct* c) const;
  };
  SshBridge() = default;
  void endLocked(std::string reason);

  mutable std::mutex mutex_;  // every libssh call on this session
  std::unique_ptr<ssh_session_struct, SessionFree> session_;
  std::unique_ptr<ssh_channel_struct, ChannelFree> channel_;
  std::string description_;
  std::string endReason_;
};

}  // namespace edgelink::dispatcher::web
