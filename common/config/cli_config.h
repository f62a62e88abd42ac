#pragma once

// Shared conventions for the daemons' configuration (see STYLE.md "Configuration"):
// every option is a CLI11 flag and a key in an INI/TOML-style file given with --config;
// unknown keys are errors; semantic checks collect every problem before reporting.

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "core/result.h"

namespace edgelink::config {

/// Collects every configuration problem (not just the first), each naming its key.
class Problems {
 public:
  void add(const std::string& key, const std::string& message) {
    lines_.push_back(key + ": " + message);
  }
  /// Adds "key: <error's describe()>" for a failed result.
  void addIf(const std::string& key, const Error& e) { add(key, e.describe()); }
  /// Adds every problem of `other`.
  void addAll(const Problems& other) {
    lines_.insert(lines_.end(), other.lines_.begin(), other.lines_.end());
  }
  bool empty() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }
  /// One Error (400) whose message lists every problem, one per line.
  Error toError() const;

 private:
  std::vector<std::string> lines_;
};

/// The outcome of parsing a command line.
struct ParseOutcome {
  bool proceed = true;  ///< false: exit now with exitCode (after printing message)
  int exitCode = 0;     ///< 0 for --help, 2 for usage and configuration errors
  std::string message;  ///< what to print (help text goes to stdout, errors to stderr)
};

/// Adds `--config FILE` to `app`: a TOML/INI file whose keys are the options' long names
/// (`kafka-brokers = "..."` for `--kafka-brokers`; repeated options as arrays or repeated
/// keys; no [sections]). Unknown keys are errors. Flags on the command line override the file.
/// `envName` (e.g. CLOUD_DISPATCHER_CONFIG): an environment variable naming the file when
/// --config is not given (--config wins); a file it names must exist.
CLI::Option* addConfigFile(CLI::App& app, const std::string& envName = {});

/// A repeatable string option, also a config file array (`key = ["a", "b"]` or repeated keys).
/// `key = []` in the file sets it to none, replacing its default (CLI11 alone refuses an empty
/// array with "At least 1 required"). Flags on the command line still override the file.
CLI::Option* addListOption(CLI::App& app, const std::string& flag, std::vector<std::string>& values,
                           const std::string& description);

/// Parses with CLI11, turning its errors into messages that name the flag or config key:
/// "config file /etc/x.conf: unknown key 'kafka_brokrs'", and "unknown command 'frob'" with the
/// valid ones where a (sub)command is missing or unknown.
ParseOutcome parse(CLI::App& app, int argc, const char* const* argv,
                   const std::string& configPath = {});

/// A duration as the docs and config files write it: 7200 -> "2h", 90 -> "1m30s", 0 -> "0".
std::string durationText(int64_t seconds);

/// Shows `seconds` as `option`'s default in --help the way the docs write it ("2h", not 7200).
CLI::Option* durationDefault(CLI::Option* option, int64_t seconds);

/// Rewrites a CLI11 error for humans (exposed for tests).
std::string describe(const CLI::ParseError& e, const std::string& configPath);

/// A CLI11 transform for durations: "600", "90s", "15m", "2h", "1h30m", "1d" become seconds.
CLI::Validator durationSeconds();

/// Prints an outcome's message to the right stream; returns its exit code.
int report(const ParseOutcome& outcome);

}  // namespace edgelink::config
