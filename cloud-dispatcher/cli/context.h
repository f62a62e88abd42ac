#pragma once

// What every cloud-dispatcher command shares: the configuration, the global flags, the clock,
// the stop signal, and the one preamble of the database commands (open the database, print a
// failure with its exit code, print records as a table or as JSON).

#include <CLI/CLI.hpp>
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cli/render.h"
#include "core/clock.h"
#include "core/result.h"
#include "db/pg.h"
#include "domain/audit.h"
#include "options.h"

namespace edgelink::dispatcher {

/// Set by SIGTERM/SIGINT once installStopHandlers() ran.
extern std::atomic<bool> gStop;
void installStopHandlers();

/// The conninfo for logs: password=... and URI secrets masked.
std::string maskConninfo(const std::string& conninfo);

class Context {
 public:
  explicit Context(Options& o) : options(o) {}

  Options& options;
  bool json = false;     ///< --json
  bool verbose = false;  ///< -v
  int limit = 50;        ///< --limit of the listings (checked with the configuration)
  const Clock& clock = SystemClock::instance();
  /// Where out() and fail() write (stdout and stderr when unset): the web API runs commands in
  /// process and keeps what they print.
  std::function<void(const std::string&)> outSink;
  std::function<void(const std::string&)> errSink;
  /// Who the audit trail names: the OS user (operatorActor(), cli/audit.h) when unset.
  std::optional<AuditActor> actor;
  AuditActor auditActor() const;

  /// Prints "cloud-dispatcher: <message>" on stderr and returns `code`.
  int fail(int code, const std::string& message) const;
  /// Prints on stdout (flushed: scripts read it as it comes).
  void out(const std::string& text) const;

  /// Connects (and checks the schema unless `anySchema`) and runs `body`; a failure to connect
  /// is printed (then `unavailableNote`, if any) and exits kExitDatabase.
  int withDatabase(const std::function<int(pg::Connection&)>& body, bool anySchema = false,
                   const std::string& unavailableNote = "") const;
  /// Records as a table (or, with `detail`, as "name: value" lines), or JSON with --json; a
  /// database error is printed with its exit code.
  int show(const Result<std::vector<Record>>& records, const std::vector<Column>& columns,
           bool detail = false) const;
  /// One record: JSON with --json, else `text`.
  void showOne(const Record& record, const std::string& text) const;
};

/// The command table cliMain runs from: each command group adds its subcommands and what runs
/// for each, once the command line and the configuration are known to be valid.
class Commands {
 public:
  Commands(CLI::App& app, Context& context) : app_(app), context_(context) {}

  Context& context() { return context_; }
  /// A group of subcommands under `parent` (the app when null); one of them is required.
  CLI::App* group(const std::string& name, const std::string& description,
                  const std::string& example, CLI::App* parent = nullptr);
  /// A command under `parent` (the app when null) and what it runs.
  CLI::App* add(const std::string& name, const std::string& description, const std::string& example,
                std::function<int()> run, CLI::App* parent = nullptr);
  /// Runs the parsed command (kExitUsage when none was).
  int runParsed() const;

 private:
  CLI::App* subcommand(CLI::App* parent, const std::string& name, const std::string& description,
                       const std::string& example);

  CLI::App& app_;
  Context& context_;
  std::vector<std::pair<CLI::App*, std::function<int()>>> table_;
};

// The command groups (one file each).
void addDaemonCommands(Commands& c);    ///< run, verify
void addDbCommands(Commands& c);        ///< db migrate, db status
void addSendCommand(Commands& c);       ///< send
void addSessionCommands(Commands& c);   ///< session open/close, sessions list/show
void addEdgesCommands(Commands& c);     ///< edges add/list
void addRequestsCommands(Commands& c);  ///< requests show/list
void addEventsCommands(Commands& c);    ///< events tail
void addKeysCommands(Commands& c);      ///< keys generate/list/rotate/remove
void addAuditCommands(Commands& c);     ///< audit list
void addUsersCommands(Commands& c);     ///< users add/passwd/remove/list (the web console's)

/// The --edge check of the commands that publish to one edge ("" when valid).
std::string edgeIdProblem(const std::string& edge, const std::string& what = "--edge");

}  // namespace edgelink::dispatcher
