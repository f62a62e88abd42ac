#include "cli/context.h"

#include <signal.h>

#include <cstdio>
#include <sstream>

#include "core/strings.h"
#include "db/migrations.h"

namespace edgelink::dispatcher {

std::atomic<bool> gStop{false};

namespace {

extern "C" void onStopSignal(int /*sig*/) {
  gStop = true;
}

}  // namespace

void installStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = &onStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

std::string maskConninfo(const std::string& conninfo) {
  if (conninfo.empty()) {
    return "(libpq defaults: PGHOST, PGPORT, PGUSER, PGDATABASE, ...)";
  }
  std::string out;
  std::istringstream in(conninfo);
  for (std::string word; in >> word;) {
    auto kv = splitKeyValue(word);
    out += (out.empty() ? "" : " ") + (kv && kv->first == "password" ? kv->first + "=*****" : word);
  }
  // URIs: postgresql://user:secret@host/db
  auto scheme = out.find("://");
  auto at = out.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme) {
    auto colon = out.find(':', scheme + 3);
    if (colon != std::string::npos && colon < at) {
      out = out.substr(0, colon + 1) + "*****" + out.substr(at);
    }
  }
  return out;
}

std::string edgeIdProblem(const std::string& edge, const std::string& what) {
  if (isValidEdgeId(edge)) {
    return {};
  }
  return what + ": expected 1-200 characters from A-Z a-z 0-9 . _ -";
}

// ---- Context --------------------------------------------------------------------------------

int Context::fail(int code, const std::string& message) const {
  if (errSink) {
    errSink(message);
  } else {
    std::fprintf(stderr, "cloud-dispatcher: %s\n", message.c_str());
  }
  return code;
}

void Context::out(const std::string& text) const {
  if (outSink) {
    outSink(text);
    return;
  }
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

int Context::withDatabase(const std::function<int(pg::Connection&)>& body, bool anySchema,
                          const std::string& unavailableNote) const {
  auto unavailable = [&](const Error& e) {
    fail(kExitDatabase, e.describe());
    return unavailableNote.empty() ? kExitDatabase : fail(kExitDatabase, unavailableNote);
  };
  auto db = pg::Connection::open(options.pgConninfo, "cloud-dispatcher-cli");
  if (!db) {
    return unavailable(db.error());
  }
  if (!anySchema) {
    if (auto r = checkSchema(**db); !r) {
      return unavailable(r.error());
    }
  }
  return body(**db);
}

int Context::show(const Result<std::vector<Record>>& records, const std::vector<Column>& columns,
                  bool detail) const {
  if (!records) {
    return fail(exitCodeForDbError(records.error()), records.error().describe());
  }
  if (json) {
    out(detail && records->size() == 1 ? renderJsonObject(records->front())
                                       : renderJsonArray(*records));
  } else if (detail) {
    for (size_t i = 0; i < records->size(); ++i) {
      out((i > 0 ? "\n" : "") + renderDetail((*records)[i]));
    }
  } else {
    out(renderTable(*records, columns));
  }
  return kExitOk;
}

void Context::showOne(const Record& record, const std::string& text) const {
  out(json ? renderJsonObject(record) : text);
}

// ---- Commands -------------------------------------------------------------------------------

CLI::App* Commands::subcommand(CLI::App* parent, const std::string& name,
                               const std::string& description, const std::string& example) {
  CLI::App* sub = (parent != nullptr ? parent : &app_)->add_subcommand(name, description);
  // A subcommand's --help shows only its own flags: its footer names the global ones and shows
  // an example.
  sub->footer(
      "Global flags (before or after the command): --config FILE (or the environment "
      "variable CLOUD_DISPATCHER_CONFIG), --json, -v/--verbose, and every configuration key "
      "as a flag (--kafka-brokers, --pg-conninfo, --port-pool, ...: see `cloud-dispatcher "
      "--help`).\nExample: " +
      example);
  return sub;
}

CLI::App* Commands::group(const std::string& name, const std::string& description,
                          const std::string& example, CLI::App* parent) {
  CLI::App* sub = subcommand(parent, name, description, example);
  sub->require_subcommand(1);
  return sub;
}

CLI::App* Commands::add(const std::string& name, const std::string& description,
                        const std::string& example, std::function<int()> run, CLI::App* parent) {
  CLI::App* sub = subcommand(parent, name, description, example);
  table_.emplace_back(sub, std::move(run));
  return sub;
}

int Commands::runParsed() const {
  for (const auto& [sub, run] : table_) {
    if (sub->parsed()) {
      return run();
    }
  }
  std::fprintf(stderr, "cloud-dispatcher: no command given; see --help\n");
  return kExitUsage;
}

}  // namespace edgelink::dispatcher
