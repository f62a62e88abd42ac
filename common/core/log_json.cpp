#include "core/log_json.h"

#include <array>
#include <chrono>

#include "core/time_format.h"

namespace edgelink::log {
namespace {

// The fields a message may name; anything else stays only in "msg".
constexpr std::array<std::string_view, 7> kFieldKeys = {"id",      "type", "from",  "edge",
                                                        "outcome", "ms",   "status"};

/// Length of the valid UTF-8 sequence at `s[i]`, or 0 when it is not one.
size_t utf8SequenceLength(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (c > 0xF4 || len == 0 || i + len > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
  }
  unsigned char c1 = byte(i + 1);
  bool overlongOrSurrogate = (c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) ||
                             (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90);
  return overlongOrSurrogate ? 0 : len;
}

bool isNumber(std::string_view value) {
  if (value.empty() || value.size() > 15 || value.front() == '.' || value.back() == '.') {
    return false;
  }
  size_t dots = 0;
  for (char c : value) {
    dots += c == '.';
    if ((c < '0' || c > '9') && c != '.') {
      return false;
    }
  }
  return dots <= 1 && (value.size() == 1 || value.front() != '0' || value[1] == '.');
}

void appendMember(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  appendJsonEscaped(key, out);
  out += "\":";
  // ms and status are numbers to a log shipper (ms > 1000 queries); anything else a string.
  if ((key == "ms" || key == "status") && isNumber(value)) {
    out.append(value);
    return;
  }
  out += '"';
  appendJsonEscaped(value, out);
  out += '"';
}

std::string isoTime(spdlog::log_clock::time_point t) {
  return formatRfc3339Ms(
      std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
}

}  // namespace

void appendJsonEscaped(std::string_view text, std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    } else if (c >= 0x80) {
      size_t len = utf8SequenceLength(text, i);
      if (len == 0) {
        out += "\\ufffd";
        ++i;
        continue;
      }
      out.append(text.substr(i, len));
      i += len;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
}

std::map<std::string, std::string> requestFields(std::string_view message) {
  std::map<std::string, std::string> fields;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t eq = message.find('=', pos);
    if (eq == std::string_view::npos) {
      break;
    }
    size_t keyStart = message.find_last_of(" (", eq);
    keyStart = keyStart == std::string_view::npos || keyStart < pos ? pos : keyStart + 1;
    std::string_view key = message.substr(keyStart, eq - keyStart);
    size_t end = message.find(' ', eq + 1);
    end = end == std::string_view::npos ? message.size() : end;
    std::string_view value = message.substr(eq + 1, end - eq - 1);
    while (!value.empty() && (value.back() == ':' || value.back() == ';' || value.back() == ',' ||
                              value.back() == ')')) {
      value.remove_suffix(1);
    }
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);  // the agent quotes string ids: id="abc"
    }
    for (std::string_view known : kFieldKeys) {
      if (key == known && !value.empty()) {
        fields.emplace(std::string(key), std::string(value));
      }
    }
    pos = end;
  }
  return fields;
}

JsonFormatter::JsonFormatter(std::map<std::string, std::string> fixed) : fixed_(std::move(fixed)) {}

void JsonFormatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  std::string_view text(msg.payload.data(), msg.payload.size());
  std::string out = "{\"time\":\"" + isoTime(msg.time) + "\"";
  auto level = spdlog::level::to_string_view(msg.level);
  appendMember(out, "level", std::string_view(level.data(), level.size()));
  appendMember(out, "logger", std::string_view(msg.logger_name.data(), msg.logger_name.size()));
  auto fields = requestFields(text);
  for (const auto& [key, value] : fixed_) {
    fields.emplace(key, value);  // a message's own edge= wins over the process's
  }
  for (const auto& [key, value] : fields) {
    appendMember(out, key, value);
  }
  appendMember(out, "msg", text);
  out += "}\n";
  dest.append(out.data(), out.data() + out.size());
}

std::unique_ptr<spdlog::formatter> JsonFormatter::clone() const {
  return std::make_unique<JsonFormatter>(fixed_);
}

}  // namespace edgelink::log
