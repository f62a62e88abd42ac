#pragma once

#include <spdlog/spdlog.h>

#include <map>
#include <memory>
#include <string>

#include "core/result.h"

namespace edgelink::log {

/// Configures spdlog for a daemon or CLI: one stderr sink shared by every named logger.
/// Under systemd (JOURNAL_STREAM set) the timestamp is left to the journal.
/// `level` is one of trace, debug, info, warn, error, critical, off.
VoidResult init(const std::string& level);

/// Log line formats: kText (the default, for people and the journal) or kJson (one JSON object
/// per line for Loki/ELK: core/log_json.h).
enum class Format { kText, kJson };

/// As init(level), then switches every logger to `format`. `fixed` members go on every JSON line
/// (the agent passes its edge id).
VoidResult init(const std::string& level, Format format,
                const std::map<std::string, std::string>& fixed = {});

/// Parses a level name; error names the accepted values.
Result<spdlog::level::level_enum> parseLevel(const std::string& level);

/// Parses a format name ("text" or "json"); error names the accepted values.
Result<Format> parseFormat(const std::string& format);

/// A named logger sharing the default sinks and level (created on first use).
/// Names in use: main, kafka, envelope, agent, frpc, dispatcher, db, cli.
std::shared_ptr<spdlog::logger> get(const std::string& name);

}  // namespace edgelink::log
