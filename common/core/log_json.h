#pragma once

// JSON lines for log shippers (Loki, ELK): one object per line with time, level, logger, the
// process's fixed fields (edge), the request fields a message names as key=value (id, type, from,
// edge, outcome, ms, status) and the message itself. The text format stays the default.

#include <spdlog/formatter.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace edgelink::log {

/// Appends `text` to `out` as a JSON string body (no quotes): quotes, backslashes and control
/// characters escaped, every byte that is not part of valid UTF-8 replaced by U+FFFD.
void appendJsonEscaped(std::string_view text, std::string& out);

/// The key=value fields of a log message that JSON lines carry as their own members. A value
/// runs to the next space, or to a ':' or ';' that ends the token ("edge=e1: 200 in 3 ms").
std::map<std::string, std::string> requestFields(std::string_view message);

class JsonFormatter final : public spdlog::formatter {
 public:
  /// `fixed`: members every line carries (e.g. {"edge": "elevator-0042"} on an agent).
  explicit JsonFormatter(std::map<std::string, std::string> fixed = {});
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  std::unique_ptr<spdlog::formatter> clone() const override;

 private:
  std::map<std::string, std::string> fixed_;
};

}  // namespace edgelink::log
