// users add / passwd / remove / list: the web console's accounts (web/accounts.h). Passwords
// come from --password-file (not readable by group or others) or stdin (one line; asked twice
// without echo on a terminal), never from the command line. Every change is recorded in
// web_audit with the operator running the command.

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>

#include "cli/audit.h"
#include "cli/context.h"
#include "core/time_format.h"
#include "core/unique_fd.h"
#include "web/accounts.h"

namespace edgelink::dispatcher {
namespace {

struct UsersArgs {
  std::string name;
  std::string role;
  std::string passwordFile;
  std::string onCommandLine;  ///< a hidden --password, only to refuse it without echoing it
};

// A password held in memory: wiped when it goes.
struct Secret {
  std::string text;
  Secret() = default;
  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  ~Secret() {
    if (!text.empty()) {
      sodium_memzero(text.data(), text.size());
    }
  }
};

void stripLineEnd(std::string& s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
    s.pop_back();
  }
}

// Echo off on the terminal while it lives.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      quiet.c_lflag |= ECHONL;
      active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
    }
  }
  ~EchoOff() {
    if (active_) {
      (void)::tcsetattr(fd_, TCSAFLUSH, &saved_);
    }
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  bool active_ = false;
};

bool readLine(std::istream& in, std::string& line) {
  if (!std::getline(in, line)) {
    return false;
  }
  stripLineEnd(line);
  return true;
}

// The password for `user`: from `file` or stdin. Errors are usage errors (exit 2).
Result<bool> readPassword(const std::string& file, const std::string& user, Secret& out) {
  if (!file.empty()) {
    UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd.valid()) {
      return Error(Status::kBadRequest, "--password-file " + file + ": cannot open it");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return Error(Status::kBadRequest, "--password-file " + file + ": not a regular file");
    }
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return Error(Status::kBadRequest, "--password-file " + file + " is mode " + mode +
                                            ": readable by group or others; chmod 600 " + file);
    }
    std::string text;
    char buf[512];
    ssize_t n = 0;
    while (text.size() <= web::kMaxPasswordBytes + 2 &&
           (n = ::read(fd.get(), buf, sizeof buf)) > 0) {
      text.append(buf, static_cast<size_t>(n));
    }
    sodium_memzero(buf, sizeof buf);
    out.text = text.substr(0, text.find('\n'));
    sodium_memzero(text.data(), text.size());
    stripLineEnd(out.text);
    return true;
  }
  if (::isatty(STDIN_FILENO) != 0) {
    Secret again;
    {
      EchoOff quiet(STDIN_FILENO);
      std::fprintf(stderr, "Password for web user %s: ", user.c_str());
      std::fflush(stderr);
      if (!readLine(std::cin, out.text)) {
        return Error(Status::kBadRequest, "no password given");
      }
      std::fprintf(stderr, "Again: ");
      std::fflush(stderr);
      if (!readLine(std::cin, again.text)) {
        return Error(Status::kBadRequest, "no password given");
      }
    }
    if (out.text != again.text) {
      return Error(Status::kBadRequest, "the two passwords differ");
    }
    return true;
  }
  if (!readLine(std::cin, out.text)) {
    return Error(Status::kBadRequest,
                 "no password: give it on stdin (one line) or with --password-file FILE (mode "
                 "0600)");
  }
  return true;
}

int exitFor(const Error& e) {
  switch (e.status) {
    case Status::kNotFound:
      return kExitNotFound;
    case Status::kConflict:
      return kExitFailed;
    case Status::kBadRequest:
      return kExitUsage;
    default:
      return exitCodeForDbError(e);
  }
}

// A JSON object of string members (values are names and roles: checked, nothing to escape).
std::string detailJson(const std::string& role = "") {
  return role.empty() ? R"({"via":"cli"})" : R"({"via":"cli","role":")" + role + "\"}";
}

// Runs `change` and its audit row in one transaction; a refused change (exists, not found) is
// audited on its own with outcome "refused".
int auditedChange(const Context& c, pg::Connection& db, const std::string& action,
                  const std::string& target, const std::string& detail,
                  const std::function<VoidResult(web::Accounts&)>& change) {
  web::Accounts accounts(db);
  const std::string actor = operatorActor().name;
  auto tx = pg::Transaction::begin(db);
  if (!tx) {
    return c.fail(exitCodeForDbError(tx.error()), tx.error().describe());
  }
  auto r = change(accounts);
  if (!r) {
    (*tx).reset();  // rolled back
    if (r.error().status == Status::kConflict || r.error().status == Status::kNotFound) {
      (void)accounts.recordWebAudit(actor, action, target, "refused", "", detail);
    }
    return c.fail(exitFor(r.error()), r.error().describe());
  }
  if (auto a = accounts.recordWebAudit(actor, action, target, "ok", "", detail); !a) {
    return c.fail(kExitDatabase, "recording the web audit trail: " + a.error().describe());
  }
  if (auto done = (*tx)->commit(); !done) {
    return c.fail(exitCodeForDbError(done.error()), done.error().describe());
  }
  return kExitOk;
}

// A password given as --password: refused (ps and shell history show it), never repeated.
bool refusedOnCommandLine(const Context& c, UsersArgs& a) {
  if (a.onCommandLine.empty()) {
    return false;
  }
  sodium_memzero(a.onCommandLine.data(), a.onCommandLine.size());
  c.fail(kExitUsage,
         "--password: a password is never taken from the command line (ps and the shell's "
         "history show it); use --password-file FILE (mode 0600) or stdin");
  return true;
}

int usersAdd(const Context& c, UsersArgs& a) {
  if (refusedOnCommandLine(c, a)) {
    return kExitUsage;
  }
  if (auto problem = web::userNameProblem(a.name); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  auto role = web::parseRole(a.role);
  if (!role) {
    return c.fail(kExitUsage, "--role: expected viewer, operator or admin");
  }
  Secret password;
  if (auto r = readPassword(a.passwordFile, a.name, password); !r) {
    return c.fail(kExitUsage, r.error().describe());
  }
  if (auto problem = web::passwordProblem(password.text); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  return c.withDatabase([&](pg::Connection& db) {
    int code = auditedChange(
        c, db, web::web_action::kUserAdd, a.name, detailJson(a.role),
        [&](web::Accounts& accounts) { return accounts.addUser(a.name, *role, password.text); });
    if (code == kExitOk) {
      c.showOne({stringField("name", a.name), stringField("role", a.role),
                 stringField("outcome", "added")},
                "added web user " + a.name + " (" + a.role + ")\n");
    }
    return code;
  });
}

int usersPasswd(const Context& c, UsersArgs& a) {
  if (refusedOnCommandLine(c, a)) {
    return kExitUsage;
  }
  if (auto problem = web::userNameProblem(a.name); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  Secret password;
  if (auto r = readPassword(a.passwordFile, a.name, password); !r) {
    return c.fail(kExitUsage, r.error().describe());
  }
  if (auto problem = web::passwordProblem(password.text); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  return c.withDatabase([&](pg::Connection& db) {
    int code = auditedChange(
        c, db, web::web_action::kUserPasswd, a.name, detailJson(),
        [&](web::Accounts& accounts) { return accounts.setPassword(a.name, password.text); });
    if (code == kExitOk) {
      c.showOne({stringField("name", a.name), stringField("outcome", "password_changed")},
                "changed the password of web user " + a.name + "; their web sessions ended\n");
    }
    return code;
  });
}

int usersRemove(const Context& c, const UsersArgs& a) {
  if (auto problem = web::userNameProblem(a.name); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  return c.withDatabase([&](pg::Connection& db) {
    int code = auditedChange(c, db, web::web_action::kUserRemove, a.name, detailJson(),
                             [&](web::Accounts& accounts) { return accounts.removeUser(a.name); });
    if (code == kExitOk) {
      c.showOne({stringField("name", a.name), stringField("outcome", "removed")},
                "removed web user " + a.name + " and their web sessions\n");
    }
    return code;
  });
}

const std::vector<Column> kUserColumns = {{"name", "NAME"},
                                          {"role", "ROLE"},
                                          {"created_at", "CREATED"},
                                          {"password_changed_at", "PASSWORD CHANGED"},
                                          {"active_sessions", "SESSIONS"}};

int usersList(const Context& c) {
  return c.withDatabase([&](pg::Connection& db) {
    web::Accounts accounts(db);
    auto users = accounts.listUsers();
    if (!users) {
      return c.fail(exitCodeForDbError(users.error()), users.error().describe());
    }
    std::vector<Record> records;
    for (const auto& u : *users) {
      records.push_back({stringField("name", u.name), stringField("role", web::roleName(u.role)),
                         Field{"created_at", FieldKind::kTimestamp, formatRfc3339Ms(u.createdAtMs)},
                         Field{"password_changed_at", FieldKind::kTimestamp,
                               formatRfc3339Ms(u.passwordChangedAtMs)},
                         numberField("active_sessions", u.activeSessions)});
    }
    return c.show(records, kUserColumns);
  });
}

void addPasswordFile(CLI::App* cmd, UsersArgs& a) {
  cmd->add_option("--password-file", a.passwordFile,
                  "Read the password from the first line of FILE (mode 0600: not readable by "
                  "group or others); without it, from stdin (asked twice on a terminal)");
  cmd->add_option("--password", a.onCommandLine, "refused: never on the command line")->group("");
}

}  // namespace

void addUsersCommands(Commands& cmds) {
  Context& c = cmds.context();
  auto a = std::make_shared<UsersArgs>();
  auto* users = cmds.group("users",
                           "The web console's users: name, role (viewer, operator, admin), "
                           "password (never on the command line)",
                           "cloud-dispatcher users list");
  auto* add = cmds.add(
      "add", "Add a web user with a role; the password from --password-file or stdin",
      "cloud-dispatcher users add alice --role operator --password-file /root/alice.pw",
      [&c, a] { return usersAdd(c, *a); }, users);
  add->add_option("NAME", a->name, "User name (1-64: letters, digits, . _ @ -)")->required();
  add->add_option("--role", a->role, "viewer, operator or admin")->required();
  addPasswordFile(add, *a);
  auto* passwd = cmds.add(
      "passwd", "Set a web user's password (ends their web sessions)",
      "cloud-dispatcher users passwd alice", [&c, a] { return usersPasswd(c, *a); }, users);
  passwd->add_option("NAME", a->name, "User name")->required();
  addPasswordFile(passwd, *a);
  auto* remove = cmds.add(
      "remove", "Remove a web user and their web sessions", "cloud-dispatcher users remove alice",
      [&c, a] { return usersRemove(c, *a); }, users);
  remove->add_option("NAME", a->name, "User name")->required();
  cmds.add(
      "list", "Web users: name, role, created, password changed, active web sessions",
      "cloud-dispatcher users list --json", [&c] { return usersList(c); }, users);
}

}  // namespace edgelink::dispatcher
