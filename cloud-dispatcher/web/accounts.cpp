#include "web/accounts.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "core/strings.h"

namespace edgelink::dispatcher::web {
namespace {

// Argon2id at libsodium's INTERACTIVE limits (64 MiB, 2 passes): about 150 ms per hash on the
// dispatcher's 2-core test machine; MODERATE (256 MiB, 3 passes) took about 1 s. The web server
// runs a thread per connection, so concurrent logins each take this memory: 64 MiB keeps a burst
// of logins affordable, and the login limiter bounds how many guesses an attacker gets.
constexpr unsigned long long kOpsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr size_t kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

void initSodium() {
  // Fails only when no source of randomness can be opened: then no token may be made at all.
  static const bool ready = [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "cloud-dispatcher: libsodium could not be initialised\n");
      std::abort();
    }
    return true;
  }();
  (void)ready;
}

// The hash an unknown user's password is checked against, made once with the same parameters.
const std::string& dummyHash() {
  static const std::string hash = [] {
    auto h = hashPassword(randomToken());
    return h ? *h : std::string();
  }();
  return hash;
}

std::string base64Url(const unsigned char* bytes, size_t n) {
  std::string out(sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(out.find('\0'));
  return out;
}

constexpr const char* kUserColumns =
    "u.name, u.role, (extract(epoch FROM u.created_at) * 1000)::bigint,"
    " (extract(epoch FROM u.password_changed_at) * 1000)::bigint,"
    " (SELECT count(*) FROM web_sessions s WHERE s.user_name = u.name AND s.expires_at > now())";

WebUser userFrom(const pg::Rows& rows, int i) {
  WebUser u;
  u.name = rows.str(i, 0);
  u.role = parseRole(rows.view(i, 1)).value_or(Role::kViewer);
  u.createdAtMs = rows.int64(i, 2);
  u.passwordChangedAtMs = rows.int64(i, 3);
  u.activeSessions = rows.int64(i, 4);
  return u;
}

// What a caller passes as an audit row's who, target or address may be whatever a client typed
// (a failed login's name): printable ASCII only (anything else becomes '?', so the row is never
// refused as invalid UTF-8), at most 200 bytes.
std::string auditText(const std::string& s) {
  std::string out = s.substr(0, 200);
  for (char& ch : out) {
    if (ch < 0x20 || ch > 0x7e) {
      ch = '?';
    }
  }
  return out;
}

std::string msParam(int64_t ms) {
  return pg::timestampParam(ms);
}

}  // namespace

std::optional<Role> parseRole(std::string_view text) {
  if (text == "viewer") {
    return Role::kViewer;
  }
  if (text == "operator") {
    return Role::kOperator;
  }
  if (text == "admin") {
    return Role::kAdmin;
  }
  return std::nullopt;
}

const char* roleName(Role role) {
  switch (role) {
    case Role::kViewer:
      return "viewer";
    case Role::kOperator:
      return "operator";
    case Role::kAdmin:
      return "admin";
  }
  return "viewer";
}

bool roleAllows(Role have, Role need) {
  return static_cast<int>(have) >= static_cast<int>(need);
}

std::string userNameProblem(std::string_view name) {
  if (name.empty()) {
    return "a user name is required (1-64 characters: letters, digits, . _ @ -)";
  }
  if (name.size() > kMaxUserNameBytes) {
    return "the user name is longer than 64 characters";
  }
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '@' || ch == '-';
    if (!ok) {
      return "the user name may hold only letters, digits, . _ @ - (1-64 characters)";
    }
  }
  return "";
}

std::string passwordProblem(std::string_view password) {
  if (password.size() > kMaxPasswordBytes) {
    return "the password is longer than 1024 bytes";
  }
  size_t chars = 0;
  for (char ch : password) {
    if (ch == '\0' || ch == '\n' || ch == '\r') {
      return "the password may not hold a NUL byte or a line break";
    }
    if ((static_cast<unsigned char>(ch) & 0xC0) != 0x80) {  // not a UTF-8 continuation byte
      ++chars;
    }
  }
  if (chars < kMinPasswordChars) {
    return "the password is too short: at least 10 characters";
  }
  return "";
}

Result<std::string> hashPassword(std::string_view password) {
  initSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kOpsLimit, kMemLimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error(Status::kInternal, "hashing the password failed (out of memory?)");
  }
  return std::string(out);
}

bool verifyPassword(const std::string& hash, std::string_view password) {
  initSodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

bool passwordNeedsRehash(const std::string& hash) {
  initSodium();
  return crypto_pwhash_str_needs_rehash(hash.c_str(), kOpsLimit, kMemLimit) != 0;
}

void prepareAccounts() {
  initSodium();
  (void)dummyHash();
}

std::string sessionTokenHash(std::string_view token) {
  initSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return toHex(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

std::string randomToken() {
  initSodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  std::string token = base64Url(bytes, sizeof bytes);
  sodium_memzero(bytes, sizeof bytes);
  return token;
}

VoidResult Accounts::addUser(const std::string& name, Role role, std::string_view password) {
  if (auto problem = userNameProblem(name); !problem.empty()) {
    return Error(Status::kBadRequest, problem, "name");
  }
  if (auto problem = passwordProblem(password); !problem.empty()) {
    return Error(Status::kBadRequest, problem, "password");
  }
  auto hash = hashPassword(password);
  if (!hash) {
    return hash.error();
  }
  auto r = db_.exec(
      "INSERT INTO web_users (name, password_hash, role) VALUES ($1, $2, $3)"
      " ON CONFLICT (name) DO NOTHING",
      {name, *hash, std::string(roleName(role))});
  if (!r) {
    return r.error();
  }
  if (r->affected() == 0) {
    return Error(Status::kConflict, "the user " + name + " exists");
  }
  return {};
}

VoidResult Accounts::removeUser(const std::string& name) {
  auto r = db_.exec("DELETE FROM web_users WHERE name = $1", {name});
  if (!r) {
    return r.error();
  }
  if (r->affected() == 0) {
    return Error(Status::kNotFound, "no user " + name);
  }
  return {};
}

VoidResult Accounts::setPassword(const std::string& name, std::string_view password) {
  if (auto problem = passwordProblem(password); !problem.empty()) {
    return Error(Status::kBadRequest, problem, "password");
  }
  auto hash = hashPassword(password);
  if (!hash) {
    return hash.error();
  }
  // One statement: the new hash and the end of the old sessions together.
  auto r = db_.exec(
      "WITH u AS (UPDATE web_users SET password_hash = $2, password_changed_at = now()"
      "           WHERE name = $1 RETURNING name),"
      " s AS (DELETE FROM web_sessions WHERE user_name IN (SELECT name FROM u))"
      " SELECT count(*) FROM u",
      {name, *hash});
  if (!r) {
    return r.error();
  }
  if (r->empty() || r->int64(0, 0) == 0) {
    return Error(Status::kNotFound, "no user " + name);
  }
  return {};
}

Result<std::vector<WebUser>> Accounts::listUsers() {
  auto r = db_.exec(std::string("SELECT ") + kUserColumns + " FROM web_users u ORDER BY u.name");
  if (!r) {
    return r.error();
  }
  std::vector<WebUser> users;
  for (int i = 0; i < r->size(); ++i) {
    users.push_back(userFrom(*r, i));
  }
  return users;
}

Result<std::optional<WebUser>> Accounts::findUser(const std::string& name) {
  auto r = db_.exec(std::string("SELECT ") + kUserColumns + " FROM web_users u WHERE u.name = $1",
                    {name});
  if (!r) {
    return r.error();
  }
  if (r->empty()) {
    return std::optional<WebUser>();
  }
  return std::optional<WebUser>(userFrom(*r, 0));
}

Result<std::optional<WebUser>> Accounts::checkLogin(const std::string& name,
                                                    std::string_view password) {
  std::optional<pg::Rows> rows;
  if (userNameProblem(name).empty() && password.size() <= kMaxPasswordBytes) {
    auto r = db_.exec(std::string("SELECT ") + kUserColumns +
                          ", u.password_hash FROM web_users u WHERE u.name = $1",
                      {name});
    if (!r) {
      return r.error();
    }
    rows = std::move(*r);
  }
  if (!rows || rows->empty()) {
    // As long as a real check: which names exist does not show in the time of an answer.
    (void)verifyPassword(dummyHash(), password.substr(0, kMaxPasswordBytes));
    return std::optional<WebUser>();
  }
  const std::string hash = rows->str(0, 5);
  if (!verifyPassword(hash, password)) {
    return std::optional<WebUser>();
  }
  WebUser user = userFrom(*rows, 0);
  if (passwordNeedsRehash(hash)) {
    if (auto fresh = hashPassword(password)) {
      // Only the hash: password_changed_at tells when the password changed, and it did not.
      auto r = db_.exec(
          "UPDATE web_users SET password_hash = $2 WHERE name = $1 AND"
          " password_hash = $3",
          {name, *fresh, hash});
      if (!r) {
        return r.error();
      }
    }
  }
  return std::optional<WebUser>(user);
}

Result<WebSession> Accounts::createSession(const WebUser& user, int64_t ttlSeconds,
                                           const std::string& remoteAddr) {
  // expires_at in whole milliseconds: expiresAtMs is then exactly when findSession stops finding
  // it.
  WebSession s;
  s.token = randomToken();
  s.csrf = randomToken();
  auto r = db_.exec(
      "INSERT INTO web_sessions (token_hash, user_name, csrf_token, expires_at, remote_addr)"
      " SELECT $1, u.name, $3,"
      "        date_trunc('milliseconds', now() + make_interval(secs => $4::bigint)), $5"
      " FROM web_users u WHERE u.name = $2"
      " RETURNING (extract(epoch FROM expires_at) * 1000)::bigint,"
      " (SELECT role FROM web_users WHERE name = $2)",
      {sessionTokenHash(s.token), user.name, s.csrf, std::to_string(ttlSeconds),
       remoteAddr.empty() ? std::nullopt : std::optional<std::string>(remoteAddr)});
  if (!r) {
    return r.error();
  }
  if (r->empty()) {
    return Error(Status::kNotFound, "no user " + user.name);
  }
  s.user = user.name;
  s.expiresAtMs = r->int64(0, 0);
  s.role = parseRole(r->view(0, 1)).value_or(Role::kViewer);
  return s;
}

Result<std::optional<WebSession>> Accounts::findSession(const std::string& token, int64_t nowMs) {
  if (token.empty() || token.size() > 128) {
    return std::optional<WebSession>();
  }
  auto r = db_.exec(
      "SELECT s.user_name, u.role, s.csrf_token, (extract(epoch FROM s.expires_at) * 1000)::bigint"
      " FROM web_sessions s JOIN web_users u ON u.name = s.user_name"
      " WHERE s.token_hash = $1 AND s.expires_at > $2::timestamptz",
      {sessionTokenHash(token), msParam(nowMs)});
  if (!r) {
    return r.error();
  }
  if (r->empty()) {
    return std::optional<WebSession>();
  }
  WebSession s;
  s.token = token;
  s.user = r->str(0, 0);
  s.role = parseRole(r->view(0, 1)).value_or(Role::kViewer);
  s.csrf = r->str(0, 2);
  s.expiresAtMs = r->int64(0, 3);
  return std::optional<WebSession>(s);
}

VoidResult Accounts::endSession(const std::string& token) {
  auto r = db_.exec("DELETE FROM web_sessions WHERE token_hash = $1", {sessionTokenHash(token)});
  if (!r) {
    return r.error();
  }
  return {};
}

Result<int64_t> Accounts::pruneSessions(int64_t nowMs) {
  auto r =
      db_.exec("DELETE FROM web_sessions WHERE expires_at <= $1::timestamptz", {msParam(nowMs)});
  if (!r) {
    return r.error();
  }
  return r->affected();
}

VoidResult Accounts::recordWebAudit(const std::string& user, const std::string& action,
                                    const std::string& target, const std::string& outcome,
                                    const std::string& remoteAddr, const std::string& detailJson) {
  auto opt = [](const std::string& s) {
    return s.empty() ? std::nullopt : std::optional<std::string>(auditText(s));
  };
  auto r = db_.exec(
      "INSERT INTO web_audit (user_name, action, target, outcome, remote_addr, detail)"
      " VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
      {auditText(user), action, opt(target), outcome, opt(remoteAddr),
       detailJson.empty() ? std::string("{}") : detailJson});
  if (!r) {
    return r.error();
  }
  return {};
}

}  // namespace edgelink::dispatcher::web
