#include "web/ssh_bridge.h"

#include <fcntl.h>
#include <libssh/libssh.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace edgelink::dispatcher::web {
namespace {

/// Known-hosts files are read and appended under one lock (terminals open in parallel).
std::mutex& knownHostsMutex() {
  static std::mutex m;
  return m;
}

struct KeyFree {
  void operator()(ssh_key k) const { ssh_key_free(k); }
};
using KeyPtr = std::unique_ptr<ssh_key_struct, KeyFree>;

std::string modeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::optional<std::string> readWhole(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      out.clear();
      return std::nullopt;
    }
    return "cannot read known-hosts file " + path + ": " + std::strerror(errno);
  }
  out.clear();
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  int err = errno;
  ::close(fd);
  if (n < 0) {
    return "cannot read known-hosts file " + path + ": " + std::strerror(err);
  }
  return std::nullopt;
}

std::optional<std::string> appendLine(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return "cannot write known-hosts file " + path + ": " + std::strerror(errno);
  }
  std::string text = line + "\n";
  ssize_t n = ::write(fd, text.data(), text.size());
  int err = errno;
  bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (n != static_cast<ssize_t>(text.size()) || !synced) {
    return "cannot write known-hosts file " + path + ": " + std::strerror(err);
  }
  return std::nullopt;
}

/// libssh's host key algorithms for a pinned key type (so the server shows that key).
std::string hostKeyAlgorithmsFor(const std::string& type) {
  return type == "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256,ssh-rsa" : type;
}

/// Checks the server's key against the pinned ones for `name` (pins it under kAcceptNew).
VoidResult checkHostKey(ssh_session session, const SshTarget& target, const std::string& name,
                        const std::string& where) {
  ssh_key raw = nullptr;
  if (ssh_get_server_publickey(session, &raw) != SSH_OK || raw == nullptr) {
    return Error(Status::kInternal,
                 "cannot read the host key of " + where + ": " + ssh_get_error(session));
  }
  KeyPtr key(raw);
  char* b64raw = nullptr;
  if (ssh_pki_export_pubkey_base64(key.get(), &b64raw) != SSH_OK || b64raw == nullptr) {
    return Error(Status::kInternal, "cannot encode the host key of " + where);
  }
  KnownHostKey seen{ssh_key_type_to_char(ssh_key_type(key.get())), b64raw};
  ssh_string_free_char(b64raw);
  char* fp = nullptr;
  unsigned char* hash = nullptr;
  size_t hlen = 0;
  std::string fingerprint;
  if (ssh_get_publickey_hash(key.get(), SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == SSH_OK) {
    fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash, hlen);
    if (fp != nullptr) {
      fingerprint = fp;
      ssh_string_free_char(fp);
    }
    ssh_clean_pubkey_hash(&hash);
  }

  std::lock_guard<std::mutex> lock(knownHostsMutex());
  struct stat st {};
  if (::stat(target.knownHostsFile.c_str(), &st) == 0 && (st.st_mode & 022) != 0) {
    return Error(Status::kInternal, "the known-hosts file " + target.knownHostsFile + " is mode " +
                                        modeText(st.st_mode) +
                                        ": others could pin host keys (chmod 600 " +
                                        target.knownHostsFile + ")");
  }
  std::string text;
  if (auto problem = readWhole(target.knownHostsFile, text)) {
    return Error(Status::kInternal, *problem);
  }
  auto pinned = knownHostKeys(text, name);
  for (const auto& k : pinned) {
    if (k == seen) {
      return {};
    }
  }
  if (!pinned.empty()) {
    return Error(Status::kForbidden,
                 "host key mismatch for " + name + " (" + where + "): the server shows " +
                     seen.type + " " + fingerprint + ", not the key pinned in " +
                     target.knownHostsFile +
                     "; if the edge was reinstalled, remove its line from that file");
  }
  if (target.hostKeyPolicy == HostKeyPolicy::kStrict) {
    return Error(Status::kForbidden, "unknown host key for " + name + " (" + where +
                                         "): " + seen.type + " " + fingerprint + " is not in " +
                                         target.knownHostsFile + " (host key policy strict)");
  }
  if (auto problem = appendLine(target.knownHostsFile, knownHostLine(name, seen))) {
    return Error(Status::kInternal, *problem);
  }
  return {};
}

/// Keyboard-interactive with `password` as the answer to every prompt (servers that take
/// passwords only through PAM's conversation).
int keyboardInteractive(ssh_session session, const std::string& password) {
  int rc = ssh_userauth_kbdint(session, nullptr, nullptr);
  for (int round = 0; rc == SSH_AUTH_INFO && round < 4; ++round) {
    int prompts = ssh_userauth_kbdint_getnprompts(session);
    for (int i = 0; i < prompts; ++i) {
      if (ssh_userauth_kbdint_setanswer(session, static_cast<unsigned>(i), password.c_str()) < 0) {
        return SSH_AUTH_ERROR;
      }
    }
    rc = ssh_userauth_kbdint(session, nullptr, nullptr);
  }
  return rc;
}

}  // namespace

const char* hostKeyPolicyName(HostKeyPolicy policy) {
  return policy == HostKeyPolicy::kStrict ? "strict" : "accept-new";
}

std::optional<HostKeyPolicy> parseHostKeyPolicy(const std::string& name) {
  if (name == "strict") {
    return HostKeyPolicy::kStrict;
  }
  if (name == "accept-new") {
    return HostKeyPolicy::kAcceptNew;
  }
  return std::nullopt;
}

std::vector<KnownHostKey> knownHostKeys(const std::string& text, const std::string& name) {
  std::vector<KnownHostKey> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string names, type, b64;
    if (!(fields >> names >> type >> b64) || names[0] == '#' || names[0] == '@' ||
        names[0] == '|') {
      continue;
    }
    size_t start = 0;
    while (start <= names.size()) {
      size_t comma = names.find(',', start);
      size_t end = comma == std::string::npos ? names.size() : comma;
      if (names.compare(start, end - start, name) == 0 && end - start == name.size()) {
        out.push_back({type, b64});
        break;
      }
      if (comma == std::string::npos) {
        break;
      }
      start = comma + 1;
    }
  }
  return out;
}

std::string knownHostLine(const std::string& name, const KnownHostKey& key) {
  return name + " " + key.type + " " + key.base64;
}

std::optional<std::string> keyFileProblem(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return "cannot use the ssh key file " + path + ": " + std::strerror(errno);
  }
  if (!S_ISREG(st.st_mode)) {
    return "the ssh key file " + path + " is not a regular file";
  }
  if ((st.st_mode & 077) != 0) {
    return "the ssh key file " + path + " is mode " + modeText(st.st_mode) +
           ": it must be 0600 (chmod 600 " + path + ")";
  }
  return std::nullopt;
}

void SshBridge::SessionFree::operator()(ssh_session_struct* s) const {
  if (ssh_is_connected(s) != 0) {
    ssh_disconnect(s);
  }
  ssh_free(s);
}

void SshBridge::ChannelFree::operator()(ssh_channel_struct* c) const {
  if (ssh_channel_is_open(c) != 0) {
    ssh_channel_close(c);
  }
  ssh_channel_free(c);
}

Result<std::unique_ptr<SshBridge>> SshBridge::open(const SshTarget& target, int cols, int rows) {
  const std::string where = target.user + "@" + target.host + ":" + std::to_string(target.port);
  const std::string name = target.hostKeyName.empty()
                               ? "[" + target.host + "]:" + std::to_string(target.port)
                               : target.hostKeyName;
  if (target.knownHostsFile.empty()) {
    return Error(Status::kBadRequest, "no known-hosts file for ssh host keys");
  }
  KeyPtr privateKey;
  if (!target.password) {
    if (target.keyFile.empty()) {
      return Error(Status::kBadRequest,
                   "no password given and no ssh key file configured (web-ssh-key-file)");
    }
    if (auto problem = keyFileProblem(target.keyFile)) {
      return Error(Status::kBadRequest, *problem);
    }
    ssh_key raw = nullptr;
    if (ssh_pki_import_privkey_file(target.keyFile.c_str(), nullptr, nullptr, nullptr, &raw) !=
            SSH_OK ||
        raw == nullptr) {
      return Error(Status::kBadRequest, "cannot load the ssh key file " + target.keyFile +
                                            " (a private key without passphrase)");
    }
    privateKey.reset(raw);
  }

  std::unique_ptr<SshBridge> bridge(new SshBridge());
  bridge->description_ = where;
  bridge->session_.reset(ssh_new());
  ssh_session session = bridge->session_.get();
  if (session == nullptr) {
    return Error(Status::kInternal, "libssh cannot make a session");
  }
  long timeoutUsec =
      static_cast<long>(target.connectTimeoutMs > 0 ? target.connectTimeoutMs : 10000) * 1000L;
  unsigned port = static_cast<unsigned>(target.port);
  int verbosity = SSH_LOG_NOLOG;
  int no = 0;
  ssh_options_set(session, SSH_OPTIONS_LOG_VERBOSITY, &verbosity);
  ssh_options_set(session, SSH_OPTIONS_HOST, target.host.c_str());
  ssh_options_set(session, SSH_OPTIONS_PORT, &port);
  ssh_options_set(session, SSH_OPTIONS_USER, target.user.c_str());
  ssh_options_set(session, SSH_OPTIONS_TIMEOUT_USEC, &timeoutUsec);
  ssh_options_set(session, SSH_OPTIONS_PROCESS_CONFIG, &no);  // no ~/.ssh/config
  ssh_options_set(session, SSH_OPTIONS_KNOWNHOSTS, "/dev/null");
  ssh_options_set(session, SSH_OPTIONS_GLOBAL_KNOWNHOSTS, "/dev/null");
  {
    // Ask for the pinned key's type, so a server with several keys shows the pinned one.
    std::lock_guard<std::mutex> lock(knownHostsMutex());
    std::string text;
    if (!readWhole(target.knownHostsFile, text)) {
      auto pinned = knownHostKeys(text, name);
      if (!pinned.empty()) {
        std::string list = hostKeyAlgorithmsFor(pinned.front().type);
        ssh_options_set(session, SSH_OPTIONS_HOSTKEYS, list.c_str());
      }
    }
  }

  if (ssh_connect(session) != SSH_OK) {
    return Error(Status::kUnavailable, "cannot reach " + target.host + ":" +
                                           std::to_string(target.port) + ": " +
                                           ssh_get_error(session));
  }
  if (auto checked = checkHostKey(session, target, name, where); !checked) {
    return checked.error();
  }

  int rc = SSH_AUTH_ERROR;
  std::string how;
  if (target.password) {
    how = "password";
    rc = ssh_userauth_password(session, nullptr, target.password->c_str());
    if (rc == SSH_AUTH_DENIED) {
      int methods = ssh_userauth_list(session, nullptr);
      if ((methods & SSH_AUTH_METHOD_INTERACTIVE) != 0) {
        rc = keyboardInteractive(session, *target.password);
      }
    }
  } else {
    how = "key " + target.keyFile;
    rc = ssh_userauth_publickey(session, nullptr, privateKey.get());
  }
  if (rc == SSH_AUTH_DENIED || rc == SSH_AUTH_PARTIAL) {
    return Error(Status::kUnauthorized,
                 "authentication failed for " + where + " (" + how + " refused)");
  }
  if (rc != SSH_AUTH_SUCCESS) {
    return Error(Status::kUnauthorized,
                 "authentication failed for " + where + ": " + ssh_get_error(session));
  }

  bridge->channel_.reset(ssh_channel_new(session));
  ssh_channel channel = bridge->channel_.get();
  if (channel == nullptr || ssh_channel_open_session(channel) != SSH_OK) {
    return Error(Status::kInternal,
                 "cannot open an ssh channel on " + where + ": " + ssh_get_error(session));
  }
  if (ssh_channel_request_pty_size(channel, "xterm-256color", cols, rows) != SSH_OK) {
    return Error(Status::kInternal,
                 "the server refused a pty on " + where + ": " + ssh_get_error(session));
  }
  if (ssh_channel_request_shell(channel) != SSH_OK) {
    return Error(Status::kInternal,
                 "the server refused a shell on " + where + ": " + ssh_get_error(session));
  }
  return bridge;
}

SshBridge::~SshBridge() {
  close();
}

VoidResult SshBridge::write(const char* data, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!channel_ || !endReason_.empty()) {
    return Error(Status::kConflict, "the ssh shell on " + description_ + " has ended");
  }
  size_t done = 0;
  while (done < size) {
    int n = ssh_channel_write(channel_.get(), data + done, static_cast<uint32_t>(size - done));
    if (n < 0) {
      std::string reason = std::string("connection lost: ") + ssh_get_error(session_.get());
      endLocked(reason);
      return Error(Status::kUnavailable, reason);
    }
    if (n == 0) {  // libssh waited its timeout for the server's window: input is not taken
      return Error(Status::kTimeout, "the shell on " + description_ + " takes no input: " +
                                         std::to_string(size - done) + " bytes dropped");
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

VoidResult SshBridge::resize(int cols, int rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!channel_ || !endReason_.empty()) {
    return Error(Status::kConflict, "the ssh shell on " + description_ + " has ended");
  }
  if (ssh_channel_change_pty_size(channel_.get(), cols, rows) != SSH_OK) {
    return Error(Status::kInternal,
                 std::string("cannot resize the pty: ") + ssh_get_error(session_.get()));
  }
  return {};
}

void SshBridge::endLocked(std::string reason) {
  if (endReason_.empty()) {
    endReason_ = std::move(reason);
  }
}

bool SshBridge::pump(int timeoutMs, const std::function<void(const char*, size_t)>& onOutput) {
  int fd = -1;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!channel_ || !endReason_.empty()) {
      return false;
    }
    fd = ssh_get_fd(session_.get());
  }
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, timeoutMs);  // a wake-up only: libssh may hold data it read already
  }
  char buf[16384];
  for (;;) {
    std::string chunk;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!channel_ || !endReason_.empty()) {
        return false;
      }
      ssh_channel ch = channel_.get();
      for (int stream = 0; stream < 2 && chunk.empty(); ++stream) {
        int n = ssh_channel_read_nonblocking(ch, buf, sizeof buf, stream);
        if (n > 0) {
          chunk.assign(buf, static_cast<size_t>(n));
        } else if (n == SSH_ERROR) {
          endLocked(std::string("connection lost: ") + ssh_get_error(session_.get()));
          return false;
        }
      }
      if (chunk.empty()) {
        if (ssh_channel_is_eof(ch) != 0 || ssh_channel_is_closed(ch) != 0) {
          int status = ssh_channel_get_exit_status(ch);
          endLocked(status >= 0 ? "the shell exited with status " + std::to_string(status)
                                : std::string("the shell ended"));
          return false;
        }
        if (ssh_is_connected(session_.get()) == 0) {
          endLocked("connection lost");
          return false;
        }
        return true;
      }
    }
    onOutput(chunk.data(), chunk.size());  // outside the lock: keystrokes go on meanwhile
  }
}

void SshBridge::readLoop(const std::function<void(const char*, size_t)>& onOutput,
                         const std::function<bool()>& keepGoing, int pollMs) {
  while (keepGoing() && pump(pollMs, onOutput)) {
  }
}

std::string SshBridge::endReason() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return endReason_;
}

void SshBridge::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  endLocked("closed");
  channel_.reset();
  session_.reset();
}

}  // namespace edgelink::dispatcher::web
