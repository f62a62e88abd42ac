#include "core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <mutex>

#include "core/log_json.h"

namespace edgelink::log {
namespace {

std::mutex gMutex;
spdlog::sink_ptr gSink;  // guarded by gMutex

spdlog::sink_ptr sink() {
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gSink) {
    gSink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    gSink->set_pattern(journal ? "%l [%n] %v" : "%Y-%m-%dT%H:%M:%S.%e%z %l [%n] %v");
  }
  return gSink;
}

}  // namespace

Result<spdlog::level::level_enum> parseLevel(const std::string& level) {
  static const std::pair<const char*, spdlog::level::level_enum> kLevels[] = {
      {"trace", spdlog::level::trace},       {"debug", spdlog::level::debug},
      {"info", spdlog::level::info},         {"warn", spdlog::level::warn},
      {"warning", spdlog::level::warn},      {"error", spdlog::level::err},
      {"critical", spdlog::level::critical}, {"off", spdlog::level::off}};
  for (const auto& [name, l] : kLevels) {
    if (level == name) {
      return l;
    }
  }
  return Error(Status::kBadRequest,
               "unknown log level '" + level +
                   "': expected trace, debug, info, warn, error, critical or off");
}

VoidResult init(const std::string& level) {
  auto parsed = parseLevel(level);
  if (!parsed) {
    return parsed.error();
  }
  auto main = get("main");
  spdlog::set_default_logger(main);
  spdlog::set_level(*parsed);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_level(*parsed); });
  spdlog::flush_on(spdlog::level::warn);
  return {};
}

VoidResult init(const std::string& level, Format format,
                const std::map<std::string, std::string>& fixed) {
  if (auto r = init(level); !r) {
    return r;
  }
  if (format == Format::kJson) {
    // Every logger shares the one sink, so setting its formatter switches them all.
    sink()->set_formatter(std::make_unique<JsonFormatter>(fixed));
  }
  return {};
}

Result<Format> parseFormat(const std::string& format) {
  if (format == "text") {
    return Format::kText;
  }
  if (format == "json") {
    return Format::kJson;
  }
  return Error(Status::kBadRequest, "unknown log format '" + format + "': expected text or json");
}

std::shared_ptr<spdlog::logger> get(const std::string& name) {
  if (auto existing = spdlog::get(name)) {
    return existing;
  }
  auto logger = std::make_shared<spdlog::logger>(name, sink());
  logger->set_level(spdlog::default_logger_raw() ? spdlog::default_logger_raw()->level()
                                                 : spdlog::level::info);
  try {
    spdlog::register_logger(logger);
  } catch (const spdlog::spdlog_ex&) {
    // Registered concurrently by another thread: use that one.
    if (auto existing = spdlog::get(name)) {
      return existing;
    }
  }
  return logger;
}

}  // namespace edgelink::log
