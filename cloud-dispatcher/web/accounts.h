#pragma once

// The web console's accounts (docs/WEB.md, "Accounts and roles"): users with a role and an
// Argon2id password hash (libsodium crypto_pwhash_str), login sessions whose cookie token is kept
// only as its SHA-256, and the web audit trail (table web_audit). Users are managed with the CLI
// (`cloud-dispatcher users add|passwd|remove|list`); the web console only logs them in.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "db/pg.h"

namespace edgelink::dispatcher::web {

/// What a user may do: viewer reads; operator also opens/extends/closes sessions, sends requests
/// and uses web ssh; admin everything.
enum class Role { kViewer, kOperator, kAdmin };

/// "viewer", "operator", "admin" (exactly); nullopt otherwise.
std::optional<Role> parseRole(std::string_view text);
const char* roleName(Role role);
/// True when a user with role `have` may do what needs `need`.
bool roleAllows(Role have, Role need);

inline constexpr size_t kMaxUserNameBytes = 64;
inline constexpr size_t kMinPasswordChars = 10;  ///< characters (UTF-8 code points)
inline constexpr size_t kMaxPasswordBytes = 1024;

/// "" when `name` is a valid user name (1-64 of A-Z a-z 0-9 . _ @ -), else why not.
std::string userNameProblem(std::string_view name);
/// "" when `password` is acceptable (10 characters at least, 1024 bytes at most, no NUL or line
/// break), else why not. The message never quotes the password.
std::string passwordProblem(std::string_view password);

/// crypto_pwhash_str (Argon2id, OPSLIMIT_INTERACTIVE/MEMLIMIT_INTERACTIVE: 64 MiB, 2 passes).
/// kInternal when libsodium cannot (out of memory).
Result<std::string> hashPassword(std::string_view password);
/// crypto_pwhash_str_verify: true when `password` matches `hash`.
bool verifyPassword(const std::string& hash, std::string_view password);
/// True when `hash` was made with other parameters than hashPassword's (rehash on login).
bool passwordNeedsRehash(const std::string& hash);

struct WebUser {
  std::string name;
  Role role = Role::kViewer;
  int64_t createdAtMs = 0;
  int64_t passwordChangedAtMs = 0;
  int64_t activeSessions = 0;  ///< listUsers only: unexpired web sessions
};

/// A login session. `token` goes in the cookie (edgelink_session), `csrf` in the X-CSRF-Token
/// header of every POST but login; both are 32 random bytes in unpadded base64url.
struct WebSession {
  std::string token;
  std::string csrf;
  std::string user;
  Role role = Role::kViewer;
  int64_t expiresAtMs = 0;
};

/// The actions recorded in web_audit.
namespace web_action {
inline constexpr const char* kLogin = "login";
inline constexpr const char* kLoginFailed = "login_failed";
inline constexpr const char* kLogout = "logout";
inline constexpr const char* kSend = "send";
inline constexpr const char* kSessionOpen = "session_open";
inline constexpr const char* kSessionExtend = "session_extend";
inline constexpr const char* kSessionClose = "session_close";
inline constexpr const char* kTerminal = "terminal";
inline constexpr const char* kUserAdd = "user_add";
inline constexpr const char* kUserPasswd = "user_passwd";
inline constexpr const char* kUserRemove = "user_remove";
}  // namespace web_action

/// The accounts in the database. Each call is one statement (atomic on its own) and runs in the
/// caller's transaction when there is one. Not thread-safe (one pg::Connection).
class Accounts {
 public:
  explicit Accounts(pg::Connection& db) : db_(db) {}

  /// kBadRequest for an invalid name or password, kConflict when the name exists.
  VoidResult addUser(const std::string& name, Role role, std::string_view password);
  /// kNotFound when there is no such user. Its sessions go with it.
  VoidResult removeUser(const std::string& name);
  /// Sets a new password and ends every web session of the user. kNotFound, kBadRequest.
  VoidResult setPassword(const std::string& name, std::string_view password);
  /// Every user by name, with the count of unexpired sessions.
  Result<std::vector<WebUser>> listUsers();
  /// One user (activeSessions filled); nullopt when unknown.
  Result<std::optional<WebUser>> findUser(const std::string& name);

  /// The user when `password` is theirs; nullopt when the name is unknown or the password wrong
  /// (an unknown name is checked against a dummy hash: the same time either way). A hash made
  /// with older parameters is replaced on success.
  Result<std::optional<WebUser>> checkLogin(const std::string& name, std::string_view password);

  /// A new session for `user`, expiring `ttlSeconds` from now (the database's clock).
  Result<WebSession> createSession(const WebUser& user, int64_t ttlSeconds,
                                   const std::string& remoteAddr);
  /// The session whose cookie token is `token`, unless it expired by `nowMs` (nullopt). The role
  /// is the user's current one.
  Result<std::optional<WebSession>> findSession(const std::string& token, int64_t nowMs);
  /// Ends the session (logout); a token that matches none is not an error.
  VoidResult endSession(const std::string& token);
  /// Deletes the sessions expired by `nowMs`; returns how many.
  Result<int64_t> pruneSessions(int64_t nowMs);

  /// One row of web_audit. `user` is who acted (a web user, or the CLI's operator); empty
  /// `target` and `remoteAddr` are stored as NULL; `detailJson` is a JSON object. `user`,
  /// `target` and `remoteAddr` are kept to 200 printable ASCII bytes (others become '?'): a failed
  /// login's name is whatever the client sent.
  VoidResult recordWebAudit(const std::string& user, const std::string& action,
                            const std::string& target, const std::string& outcome,
                            const std::string& remoteAddr, const std::string& detailJson = "{}");

 private:
  pg::Connection& db_;
};

/// Initialises libsodium and makes the dummy hash unknown names are checked against (one hash,
/// ~100 ms): call once at start-up, so the first login of an unknown name is not the slow one.
/// Optional: the first use does it otherwise.
void prepareAccounts();

/// The hex SHA-256 of a session token: what web_sessions.token_hash holds.
std::string sessionTokenHash(std::string_view token);
/// 32 random bytes as unpadded base64url (43 characters).
std::string randomToken();

}  // namespace edgelink::dispatcher::web
