#pragma once

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

#include "core/result.h"

namespace edgelink::log {

/// Configures spdlog for a daemon or CLI: one stderr sink shared by every named logger.
/// Under systemd (JOURNAL_STREAM set) the timestamp is left to the journal.
/// `level` is one of trace, debug, info, warn, error, critical, off.
VoidResult init(const std::string& level);

/// Parses a level name; error names the accepted values.
Result<spdlog::level::level_enum> parseLevel(const std::string& level);

/// A named logger sharing the default sinks and level (created on first use).
/// Names in use: main, kafka, envelope, agent, frpc, dispatcher, db, cli.
std::shared_ptr<spdlog::logger> get(const std::string& name);

}  // namespace edgelink::log
