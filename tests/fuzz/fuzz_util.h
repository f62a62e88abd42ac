#pragma once

// Helpers shared by the fuzz targets: splitting one input into parts, a scratch directory for
// the loaders that read files, and quiet logs.

#include <CLI/CLI.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace edgelink::fuzz {

/// The input as text.
inline std::string_view asText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// Splits at the first `separator`: (before, after). No separator: (all, "").
std::pair<std::string_view, std::string_view> splitAt(std::string_view input, char separator);

/// A private directory made once per process (under $TMPDIR or /tmp), never in the repository.
const std::string& scratchDir();

/// Writes `text` to scratchDir()/name with `mode`, replacing it; returns its path. Aborts when
/// the file cannot be written (the fuzzer's environment is broken, not the code under test).
std::string writeScratch(const std::string& name, std::string_view text, unsigned mode = 0600);

/// Parses `text` as a daemon's --config file into the options registered on `app` (through
/// config::parse, exactly as the daemons' command lines do). True when the daemon would go on to
/// validate; false when it would print the parse error and exit.
bool parseConfigText(CLI::App& app, std::string_view text, const char* program);

/// Every EdgeLink logger off: the targets judge results, not log lines.
void silenceLogs();

}  // namespace edgelink::fuzz
