// The web console's accounts on a real PostgreSQL: `cloud-dispatcher users` end to end through
// the binary (passwords from a file or stdin, refusals and their exit codes, the web audit
// trail), and web::Accounts (logins, sessions, their expiry and end, tokens stored hashed).
#include <poll.h>
#include <pty.h>
#include <pwd.h>
#include <rapidjson/document.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <memory>

#include "core/subprocess.h"
#include "db/migrations.h"
#include "dispatcher_harness.h"
#include "domain/audit.h"
#include "harness/pg_cluster.h"
#include "web/accounts.h"

using namespace edgelink;
using namespace edgelink::testing;
using edgelink::dispatcher::web::Accounts;
using edgelink::dispatcher::web::Role;

namespace {

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A migrated database and a config naming it; no Kafka (users never publishes).
class UsersFixture {
 public:
  UsersFixture() : conninfo_(sharedPg().createDatabase("users")) {
    configPath_ = dir_.file("dispatcher.conf");
    writeText(configPath_, "pg-conninfo = \"" + conninfo_ +
                               "\"\nkafka-brokers = \"127.0.0.1:9\"\nsigning-key-dir = \"" +
                               dir_.file("keys") + "\"\n");
    ::chmod(configPath_.c_str(), 0600);
    auto db = dispatcher::pg::Connection::open(conninfo_, "users-test");
    if (!db) {
      throw std::runtime_error(db.error().describe());
    }
    db_ = std::move(*db);
    if (auto m = dispatcher::migrate(*db_); !m) {
      throw std::runtime_error(m.error().describe());
    }
  }

  /// Runs the CLI with `stdinText` (when given) on its stdin.
  CliResult cli(const std::vector<std::string>& args, const std::string* stdinText = nullptr) {
    const std::string n = std::to_string(++runs_);
    SpawnOptions opts;
    opts.argv = {dispatcherPath(), "--config", configPath_};
    opts.argv.insert(opts.argv.end(), args.begin(), args.end());
    if (stdinText != nullptr) {
      opts.stdinPath = dir_.file("stdin-" + n);
      writeText(opts.stdinPath, *stdinText);
    }
    opts.stdoutPath = dir_.file("cli-" + n + ".out");
    opts.stderrPath = dir_.file("cli-" + n + ".err");
    auto p = Subprocess::spawn(opts);
    if (!p) {
      throw std::runtime_error(p.error().describe());
    }
    auto status = p->waitFor(60000);
    CliResult r;
    r.code = status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    r.out = readText(opts.stdoutPath);
    r.err = readText(opts.stderrPath);
    return r;
  }
  CliResult cliWithStdin(const std::vector<std::string>& args, const std::string& text) {
    return cli(args, &text);
  }

  /// Runs the CLI on a pseudo-terminal, writing each of `lines` once the output so far ends
  /// with a prompt; returns the exit code and everything the terminal showed.
  CliResult cliOnTerminal(const std::vector<std::string>& args,
                          const std::vector<std::string>& lines) {
    std::vector<std::string> argv = {dispatcherPath(), "--config", configPath_};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) {
      cargv.push_back(a.data());
    }
    cargv.push_back(nullptr);
    int master = -1;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid < 0) {
      throw std::runtime_error("forkpty failed");
    }
    if (pid == 0) {
      ::execv(cargv[0], cargv.data());
      ::_exit(127);
    }
    CliResult r;
    size_t next = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{master, POLLIN, 0};
      if (::poll(&p, 1, 100) > 0) {
        char buf[512];
        const ssize_t n = ::read(master, buf, sizeof buf);
        if (n <= 0) {
          break;  // EIO: the child closed the terminal
        }
        r.out.append(buf, static_cast<size_t>(n));
      }
      const bool prompted = r.out.size() >= 2 && r.out.compare(r.out.size() - 2, 2, ": ") == 0;
      if (prompted && next < lines.size()) {
        const std::string line = lines[next++] + "\n";
        if (::write(master, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          break;
        }
      }
    }
    ::close(master);
    int status = 0;
    ::waitpid(pid, &status, 0);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }

  /// A password file with `mode`.
  std::string passwordFile(const std::string& name, const std::string& text, mode_t mode) {
    const std::string path = dir_.file(name);
    writeText(path, text);
    ::chmod(path.c_str(), mode);
    return path;
  }

  std::string sql(const std::string& query, const dispatcher::pg::Params& params = {}) {
    auto r = db_->exec(query, params);
    if (!r) {
      FAIL(r.error().describe());
    }
    return r->empty() || r->isNull(0, 0) ? std::string() : r->str(0, 0);
  }
  int64_t count(const std::string& query, const dispatcher::pg::Params& params = {}) {
    return std::stoll(sql(query, params));
  }

  dispatcher::pg::Connection& db() { return *db_; }

 private:
  TempDir dir_;
  std::string conninfo_;
  std::string configPath_;
  std::unique_ptr<dispatcher::pg::Connection> db_;
  int runs_ = 0;
};

std::string osUser() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw != nullptr ? pw->pw_name : "";
}

bool canLogIn(UsersFixture& f, const std::string& name, const std::string& password) {
  Accounts accounts(f.db());
  auto r = accounts.checkLogin(name, password);
  REQUIRE(r);
  return r->has_value();
}

}  // namespace

TEST_CASE("users add, passwd, list and remove through the CLI, each change audited",
          "[dispatcher][web][users]") {
  UsersFixture f;
  const std::string file = f.passwordFile("alice.pw", "first-password-1\n", 0600);
  auto add = f.cli({"users", "add", "alice", "--role", "operator", "--password-file", file});
  CHECK(add.code == 0);
  CHECK_THAT(add.out, Catch::Contains("added web user alice (operator)"));
  CHECK(f.sql("SELECT role FROM web_users WHERE name = 'alice'") == "operator");
  const std::string hash = f.sql("SELECT password_hash FROM web_users WHERE name = 'alice'");
  CHECK(hash.rfind("$argon2id$", 0) == 0);
  CHECK(hash.find("first-password") == std::string::npos);
  CHECK(canLogIn(f, "alice", "first-password-1"));
  CHECK_FALSE(canLogIn(f, "alice", "first-password-1\n"));

  // From stdin (one line, no terminal), and --json.
  auto bob =
      f.cliWithStdin({"users", "add", "bob", "--role", "viewer", "--json"}, "bob's password\n");
  CHECK(bob.code == 0);
  CHECK_THAT(bob.out, Catch::Contains("\"outcome\":\"added\""));
  CHECK(canLogIn(f, "bob", "bob's password"));

  // A web session of alice's shows in the list; a new password ends it.
  Accounts accounts(f.db());
  auto user = accounts.findUser("alice");
  REQUIRE(user);
  REQUIRE(user->has_value());
  auto session = accounts.createSession(**user, 3600, "127.0.0.1");
  REQUIRE(session);

  auto list = f.cli({"users", "list", "--json"});
  REQUIRE(list.code == 0);
  rapidjson::Document d;
  d.Parse(list.out.c_str());
  REQUIRE(d.IsArray());
  REQUIRE(d.Size() == 2);
  CHECK(std::string(d[0]["name"].GetString()) == "alice");
  CHECK(std::string(d[0]["role"].GetString()) == "operator");
  CHECK(d[0]["active_sessions"].GetInt64() == 1);
  CHECK(std::string(d[0]["created_at"].GetString()).find('T') != std::string::npos);
  CHECK(d[0].HasMember("password_changed_at"));
  CHECK(std::string(d[1]["name"].GetString()) == "bob");
  CHECK(d[1]["active_sessions"].GetInt64() == 0);
  auto table = f.cli({"users", "list"});
  CHECK(table.code == 0);
  CHECK_THAT(table.out,
             Catch::Contains("NAME") && Catch::Contains("SESSIONS") && Catch::Contains("viewer"));

  auto passwd = f.cliWithStdin({"users", "passwd", "alice"}, "second-password-2\n");
  CHECK(passwd.code == 0);
  CHECK_THAT(passwd.out, Catch::Contains("web sessions ended"));
  CHECK_FALSE(canLogIn(f, "alice", "first-password-1"));
  CHECK(canLogIn(f, "alice", "second-password-2"));
  auto found = accounts.findSession(session->token, nowMs());
  REQUIRE(found);
  CHECK_FALSE(found->has_value());
  CHECK(f.count("SELECT count(*) FROM web_sessions") == 0);

  auto remove = f.cli({"users", "remove", "alice"});
  CHECK(remove.code == 0);
  CHECK(f.count("SELECT count(*) FROM web_users WHERE name = 'alice'") == 0);
  CHECK_FALSE(canLogIn(f, "alice", "second-password-2"));

  // The trail: who (the OS user running the CLI), what, on whom.
  CHECK(f.sql("SELECT string_agg(action || ' ' || target || ' ' || outcome, ',' ORDER BY id)"
              " FROM web_audit") ==
        "user_add alice ok,user_add bob ok,user_passwd alice ok,user_remove alice ok");
  CHECK(f.count("SELECT count(*) FROM web_audit WHERE user_name = $1", {osUser()}) == 4);
  CHECK(f.sql("SELECT detail->>'role' FROM web_audit WHERE target = 'bob'") == "viewer");
  CHECK(f.sql("SELECT detail->>'via' FROM web_audit WHERE action = 'user_remove'") == "cli");
  // No password in any output or row.
  CHECK(f.count("SELECT count(*) FROM web_audit WHERE detail::text LIKE '%password-%'") == 0);
}

TEST_CASE("on a terminal the password is asked twice without echo", "[dispatcher][web][users]") {
  UsersFixture f;
  auto ok = f.cliOnTerminal({"users", "add", "alice", "--role", "viewer"},
                            {"typed-password-1", "typed-password-1"});
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Catch::Contains("Password for web user alice: ") &&
                         Catch::Contains("Again: ") && Catch::Contains("added web user alice"));
  CHECK(ok.out.find("typed-password") == std::string::npos);  // not echoed
  CHECK(canLogIn(f, "alice", "typed-password-1"));

  auto differ =
      f.cliOnTerminal({"users", "passwd", "alice"}, {"new-password-11", "new-password-12"});
  CHECK(differ.code == 2);
  CHECK_THAT(differ.out, Catch::Contains("the two passwords differ"));
  CHECK(canLogIn(f, "alice", "typed-password-1"));
}

TEST_CASE("users refuses readable password files, bad input, duplicates and unknown users",
          "[dispatcher][web][users]") {
  UsersFixture f;
  const std::string readable = f.passwordFile("open.pw", "a fine password\n", 0644);
  auto open = f.cli({"users", "add", "alice", "--role", "admin", "--password-file", readable});
  CHECK(open.code == 2);
  CHECK_THAT(open.err, Catch::Contains("--password-file") && Catch::Contains("0644") &&
                           Catch::Contains("chmod 600"));
  const std::string groupReadable = f.passwordFile("group.pw", "a fine password\n", 0640);
  CHECK(
      f.cli({"users", "add", "alice", "--role", "admin", "--password-file", groupReadable}).code ==
      2);
  auto missing =
      f.cli({"users", "add", "alice", "--role", "admin", "--password-file", "/nonexistent/pw"});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("--password-file"));
  auto shortPw = f.cliWithStdin({"users", "add", "alice", "--role", "admin"}, "short\n");
  CHECK(shortPw.code == 2);
  CHECK_THAT(shortPw.err, Catch::Contains("at least 10"));
  auto noPw = f.cli({"users", "add", "alice", "--role", "admin"});  // stdin: /dev/null
  CHECK(noPw.code == 2);
  CHECK_THAT(noPw.err, Catch::Contains("--password-file"));
  auto badRole = f.cliWithStdin({"users", "add", "alice", "--role", "root"}, "a fine password\n");
  CHECK(badRole.code == 2);
  CHECK_THAT(badRole.err, Catch::Contains("--role"));
  auto badName =
      f.cliWithStdin({"users", "add", "al ice", "--role", "viewer"}, "a fine password\n");
  CHECK(badName.code == 2);
  // A password is never taken from the command line.
  auto onArgv =
      f.cli({"users", "add", "alice", "--role", "viewer", "--password", "a fine password"});
  CHECK(onArgv.code == 2);
  CHECK_THAT(onArgv.err, Catch::Contains("never taken from the command line"));
  CHECK(onArgv.err.find("a fine password") == std::string::npos);
  auto onArgvEq = f.cliWithStdin({"users", "passwd", "alice", "--password=a fine password"}, "x\n");
  CHECK(onArgvEq.code == 2);
  CHECK(onArgvEq.err.find("a fine password") == std::string::npos);
  CHECK(f.count("SELECT count(*) FROM web_users") == 0);
  CHECK(f.count("SELECT count(*) FROM web_audit") == 0);

  const std::string ok = f.passwordFile("alice.pw", "a fine password\n", 0600);
  REQUIRE(f.cli({"users", "add", "alice", "--role", "admin", "--password-file", ok}).code == 0);
  auto dup = f.cli({"users", "add", "alice", "--role", "viewer", "--password-file", ok});
  CHECK(dup.code == 1);
  CHECK_THAT(dup.err, Catch::Contains("exists"));
  CHECK(f.sql("SELECT role FROM web_users WHERE name = 'alice'") == "admin");

  auto unknownRemove = f.cli({"users", "remove", "nobody"});
  CHECK(unknownRemove.code == 6);
  CHECK_THAT(unknownRemove.err, Catch::Contains("no user nobody"));
  auto unknownPasswd = f.cli({"users", "passwd", "nobody", "--password-file", ok});
  CHECK(unknownPasswd.code == 6);
  CHECK(f.sql("SELECT string_agg(action || ' ' || target || ' ' || outcome, ',' ORDER BY id)"
              " FROM web_audit") ==
        "user_add alice ok,user_add alice refused,user_remove nobody refused,"
        "user_passwd nobody refused");

  // An unmigrated database: the PostgreSQL exit code.
  auto bare = f.cli({"users", "list", "--pg-conninfo", sharedPg().createDatabase("bare")});
  CHECK(bare.code == 5);
}

TEST_CASE("a login checks the password, and an unknown name costs a hash too",
          "[dispatcher][web][users]") {
  UsersFixture f;
  Accounts accounts(f.db());
  REQUIRE(accounts.addUser("alice", Role::kOperator, "correct horse battery"));
  auto again = accounts.addUser("alice", Role::kViewer, "correct horse battery");
  REQUIRE_FALSE(again);
  CHECK(again.error().status == Status::kConflict);
  auto shortPw = accounts.addUser("bob", Role::kViewer, "short");
  REQUIRE_FALSE(shortPw);
  CHECK(shortPw.error().status == Status::kBadRequest);

  auto ok = accounts.checkLogin("alice", "correct horse battery");
  REQUIRE(ok);
  REQUIRE(ok->has_value());
  CHECK((*ok)->name == "alice");
  CHECK((*ok)->role == Role::kOperator);
  auto wrong = accounts.checkLogin("alice", "correct horse batterY");
  REQUIRE(wrong);
  CHECK_FALSE(wrong->has_value());
  auto unknown = accounts.checkLogin("mallory", "correct horse battery");
  REQUIRE(unknown);
  CHECK_FALSE(unknown->has_value());
  auto junk = accounts.checkLogin("no such name; at all", "x");
  REQUIRE(junk);
  CHECK_FALSE(junk->has_value());

  // An unknown name is verified against a dummy hash: not answered much faster than a wrong
  // password (a hash takes tens of milliseconds, a lookup alone well under one).
  auto timed = [&](const std::string& name) {
    std::vector<int64_t> ms;
    for (int i = 0; i < 3; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      (void)accounts.checkLogin(name, "wrong password here");
      ms.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::steady_clock::now() - t0)
                       .count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[1];
  };
  const int64_t known = timed("alice");
  const int64_t unknownMs = timed("mallory");
  INFO("known " << known << " ms, unknown " << unknownMs << " ms");
  CHECK(known >= 10);
  CHECK(unknownMs * 3 >= known);

  // A hash made with weaker parameters is replaced at the next login; the password, and so
  // password_changed_at, stay.
  REQUIRE(sodium_init() >= 0);
  char weak[crypto_pwhash_STRBYTES];
  const std::string pw = "correct horse battery";
  REQUIRE(crypto_pwhash_str_alg(weak, pw.data(), pw.size(), crypto_pwhash_OPSLIMIT_MIN,
                                crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13) == 0);
  f.sql("UPDATE web_users SET password_hash = $1 WHERE name = 'alice' RETURNING 1",
        {std::string(weak)});
  const std::string changedAt =
      f.sql("SELECT password_changed_at::text FROM web_users WHERE name = 'alice'");
  auto rehashed = accounts.checkLogin("alice", pw);
  REQUIRE(rehashed);
  CHECK(rehashed->has_value());
  const std::string fresh = f.sql("SELECT password_hash FROM web_users WHERE name = 'alice'");
  CHECK(fresh != std::string(weak));
  CHECK_FALSE(dispatcher::web::passwordNeedsRehash(fresh));
  CHECK(dispatcher::web::verifyPassword(fresh, pw));
  CHECK(f.sql("SELECT password_changed_at::text FROM web_users WHERE name = 'alice'") == changedAt);
}

TEST_CASE("web sessions are found until they expire or end, and only their hash is stored",
          "[dispatcher][web][users]") {
  UsersFixture f;
  Accounts accounts(f.db());
  REQUIRE(accounts.addUser("alice", Role::kAdmin, "correct horse battery"));
  REQUIRE(accounts.addUser("bob", Role::kViewer, "another good one"));
  auto alice = accounts.checkLogin("alice", "correct horse battery");
  REQUIRE(alice);
  REQUIRE(alice->has_value());

  const int64_t before = nowMs();
  auto s = accounts.createSession(**alice, 3600, "192.0.2.7");
  REQUIRE(s);
  CHECK(s->token.size() == 43);
  CHECK(s->csrf.size() == 43);
  CHECK(s->token != s->csrf);
  CHECK(s->user == "alice");
  CHECK(s->role == Role::kAdmin);
  CHECK(s->expiresAtMs >= before + 3600 * 1000 - 5000);
  CHECK(s->expiresAtMs <= nowMs() + 3600 * 1000 + 5000);

  auto found = accounts.findSession(s->token, nowMs());
  REQUIRE(found);
  REQUIRE(found->has_value());
  CHECK((*found)->user == "alice");
  CHECK((*found)->role == Role::kAdmin);
  CHECK((*found)->csrf == s->csrf);
  CHECK((*found)->expiresAtMs == s->expiresAtMs);
  // Found until its last millisecond, expired at its expiry; an unknown or empty token is no
  // session.
  auto last = accounts.findSession(s->token, s->expiresAtMs - 1);
  REQUIRE(last);
  CHECK(last->has_value());
  auto expired = accounts.findSession(s->token, s->expiresAtMs);
  REQUIRE(expired);
  CHECK_FALSE(expired->has_value());
  auto bogus = accounts.findSession(dispatcher::web::randomToken(), nowMs());
  REQUIRE(bogus);
  CHECK_FALSE(bogus->has_value());
  auto empty = accounts.findSession("", nowMs());
  REQUIRE(empty);
  CHECK_FALSE(empty->has_value());

  // The table holds the token's SHA-256, never the token.
  CHECK(f.count("SELECT count(*) FROM web_sessions WHERE token_hash = $1",
                {dispatcher::web::sessionTokenHash(s->token)}) == 1);
  CHECK(f.count("SELECT count(*) FROM web_sessions t WHERE strpos(t::text, $1) > 0", {s->token}) ==
        0);
  CHECK(f.sql("SELECT remote_addr FROM web_sessions") == "192.0.2.7");

  // Logout ends it (twice is fine).
  REQUIRE(accounts.endSession(s->token));
  REQUIRE(accounts.endSession(s->token));
  auto ended = accounts.findSession(s->token, nowMs());
  REQUIRE(ended);
  CHECK_FALSE(ended->has_value());

  // A new password ends the user's sessions, not others'.
  auto s2 = accounts.createSession(**alice, 3600, "");
  auto bob = accounts.findUser("bob");
  REQUIRE(bob);
  REQUIRE(bob->has_value());
  auto sb = accounts.createSession(**bob, 3600, "");
  REQUIRE(s2);
  REQUIRE(sb);
  REQUIRE(accounts.setPassword("alice", "a new good password"));
  CHECK_FALSE(accounts.findSession(s2->token, nowMs())->has_value());
  CHECK(accounts.findSession(sb->token, nowMs())->has_value());
  CHECK(accounts.setPassword("nobody", "a new good password").error().status == Status::kNotFound);

  // Pruning deletes the expired ones only.
  auto shortLived = accounts.createSession(**bob, 1, "");
  REQUIRE(shortLived);
  auto pruned = accounts.pruneSessions(nowMs() + 60 * 1000);
  REQUIRE(pruned);
  CHECK(*pruned == 1);
  CHECK(accounts.findSession(sb->token, nowMs())->has_value());

  // Removing a user removes their sessions.
  REQUIRE(accounts.removeUser("bob"));
  CHECK(f.count("SELECT count(*) FROM web_sessions") == 0);
  CHECK(accounts.removeUser("bob").error().status == Status::kNotFound);
}

TEST_CASE("the web audit trail and session_audit take web users", "[dispatcher][web][users]") {
  UsersFixture f;
  Accounts accounts(f.db());
  REQUIRE(accounts.recordWebAudit("alice", dispatcher::web::web_action::kLoginFailed, "",
                                  "bad_password", "192.0.2.7", R"({"attempt":3})"));
  REQUIRE(accounts.recordWebAudit("alice", dispatcher::web::web_action::kLogin, "", "ok", ""));
  CHECK(f.sql("SELECT string_agg(action || ' ' || outcome || ' ' || coalesce(remote_addr, '-')"
              " || ' ' || coalesce(target, '-') || ' ' || detail::text, ',' ORDER BY id)"
              " FROM web_audit") ==
        "login_failed bad_password 192.0.2.7 - {\"attempt\": 3},login ok - - {}");
  CHECK_FALSE(accounts.recordWebAudit("alice", "login", "", "ok", "", "not json"));
  // A failed login's name is whatever was typed: stored cut and printable, never refused.
  REQUIRE(accounts.recordWebAudit("\xff\xfe" + std::string(1000, 'm'), "login_failed", "",
                                  "unknown_user", "192.0.2.8"));
  CHECK(f.sql("SELECT user_name FROM web_audit WHERE remote_addr = '192.0.2.8'") ==
        "??" + std::string(198, 'm'));

  dispatcher::AuditEntry entry;
  entry.edgeId = "e1";
  entry.sessionId = 7;
  entry.action = dispatcher::audit_action::kOpen;
  REQUIRE(dispatcher::recordAudit(f.db(), entry, dispatcher::webActor("alice")));
  CHECK(f.sql("SELECT actor || ' ' || actor_kind FROM session_audit") == "alice web");
  // The old kinds still pass, an unknown one does not.
  CHECK(dispatcher::recordAudit(f.db(), entry, dispatcher::systemActor()));
  dispatcher::AuditActor odd{"x", "martian", "", "", ""};
  CHECK_FALSE(dispatcher::recordAudit(f.db(), entry, odd));

  // The schema checks names and roles too.
  CHECK_FALSE(
      f.db().exec("INSERT INTO web_users (name, password_hash, role)"
                  " VALUES ('bad name', 'h', 'viewer')"));
  CHECK_FALSE(
      f.db().exec("INSERT INTO web_users (name, password_hash, role)"
                  " VALUES ($1, 'h', 'viewer')",
                  {std::string(65, 'a')}));
  CHECK_FALSE(
      f.db().exec("INSERT INTO web_users (name, password_hash, role)"
                  " VALUES ('ok', 'h', 'root')"));
  CHECK(
      f.db().exec("INSERT INTO web_users (name, password_hash, role)"
                  " VALUES ('a.b_c-d@e', 'h', 'viewer')"));
}
