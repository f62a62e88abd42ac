#pragma once

// The console's state-changing calls run the CLI's own commands in process (send, session
// open/extend/close), so they mean exactly what the CLI means: the same checks, the same rows,
// the same audit trail (naming the web user), the same exit codes, answered as HTTP statuses.

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "domain/audit.h"
#include "options.h"

namespace edgelink::dispatcher::web {

struct CommandOutcome {
  int exitCode = 0;
  std::string output;  ///< what the command printed (its --json object)
  std::string error;   ///< what it printed as failures, one per line
};

/// Runs `args` ({"session", "open", "--edge=x", ...}) as `cloud-dispatcher --json ARGS` would,
/// in process, on a copy of `options`, the audit trail naming `actor`.
CommandOutcome runCliCommand(const Options& options, const std::vector<std::string>& args,
                             const AuditActor& actor);

/// The longest `wait` a call may ask for (it holds a connection and a thread meanwhile).
inline constexpr int64_t kMaxWaitSeconds = 120;

/// The CLI arguments for a call's JSON body, checked strictly (an unknown key, or a value of the
/// wrong type, is an error naming it). `what`: open, extend, close or send.
Result<std::vector<std::string>> commandArgs(const std::string& what, const std::string& edge,
                                             const rapidjson::Value& body);

/// {"exit_code", "outcome", "result" (the command's JSON, or null), "error"}.
std::string commandReplyJson(const CommandOutcome& outcome);

}  // namespace edgelink::dispatcher::web
