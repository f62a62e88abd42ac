#include "web/http.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cctype>
#include <charconv>

#include "core/strings.h"

namespace edgelink::dispatcher::web {
namespace {

/// "host[:port]" without a scheme, lower-cased.
std::string authority(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

}  // namespace

std::optional<std::string> percentDecode(std::string_view text, bool plusIsSpace) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      int hi = hexDigitValue(text[i + 1]);
      int lo = hexDigitValue(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plusIsSpace) {
      c = ' ';
    }
    if (c == '\0') {
      return std::nullopt;
    }
    out.push_back(c);
  }
  return out;
}

Result<std::map<std::string, std::string>> parseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) {
      continue;
    }
    const size_t eq = part.find('=');
    auto name = percentDecode(part.substr(0, eq), true);
    auto value = percentDecode(eq == std::string_view::npos ? "" : part.substr(eq + 1), true);
    if (!name || !value) {
      return Error(Status::kBadRequest, "a query parameter is not valid percent-encoding",
                   name ? *name : "query");
    }
    out[*name] = *value;
  }
  return out;
}

std::string cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view part = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && trim(part.substr(0, eq)) == name) {
      return std::string(trim(part.substr(eq + 1)));
    }
  }
  return {};
}

std::optional<std::vector<std::string>> pathSegments(std::string_view path, std::string_view prefix,
                                                     bool decode) {
  if (path.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  path.remove_prefix(prefix.size());
  if (!path.empty() && path.front() != '/') {
    return std::nullopt;
  }
  std::vector<std::string> out;
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const size_t slash = path.find('/');
    std::string_view raw = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash);
    if (raw.empty() && path.empty()) {
      break;  // one trailing slash
    }
    auto segment = decode ? percentDecode(raw, false) : std::optional<std::string>(raw);
    if (!segment || segment->empty() || *segment == "." || *segment == ".." ||
        segment->find('/') != std::string::npos) {
      return std::nullopt;
    }
    out.push_back(std::move(*segment));
  }
  return out;
}

int httpStatusForExit(int exitCode) {
  switch (exitCode) {
    case 0:
      return 200;
    case 1:
      return 409;
    case 2:
      return 400;
    case 3:
      return 504;
    case 4:
    case 5:
      return 503;
    case 6:
      return 404;
    default:
      return 500;
  }
}

const char* outcomeForExit(int exitCode) {
  switch (exitCode) {
    case 0:
      return "ok";
    case 1:
      return "refused";
    case 2:
      return "usage";
    case 3:
      return "timeout";
    case 4:
      return "kafka";
    case 5:
      return "database";
    case 6:
      return "not_found";
    default:
      return "internal";
  }
}

std::string errorJson(const std::string& message) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("error");
  w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
  w.EndObject();
  return sb.GetString();
}

const char* securityHeaders() {
  return "Content-Security-Policy: default-src 'self'; connect-src 'self'; img-src 'self' data:; "
         "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
         "form-action 'self'\r\n"
         "X-Content-Type-Options: nosniff\r\n"
         "X-Frame-Options: DENY\r\n"
         "Referrer-Policy: no-referrer\r\n"
         "Cross-Origin-Opener-Policy: same-origin\r\n"
         "Cross-Origin-Resource-Policy: same-origin\r\n";
}

Result<int64_t> intParam(const std::map<std::string, std::string>& query, const std::string& name,
                         int64_t fallback, int64_t min, int64_t max) {
  auto it = query.find(name);
  if (it == query.end()) {
    return fallback;
  }
  int64_t v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) {
    return Error(Status::kBadRequest,
                 name + ": expected an integer " + std::to_string(min) + "-" + std::to_string(max),
                 name);
  }
  return v;
}

bool sameOrigin(std::string_view origin, std::string_view host) {
  if (origin.empty()) {
    return true;
  }
  const size_t scheme = origin.find("://");
  if (scheme == std::string_view::npos) {
    return false;  // "null" (a sandboxed or file page) and anything else odd
  }
  std::string_view rest = origin.substr(scheme + 3);
  if (rest.find('/') != std::string_view::npos) {
    return false;
  }
  std::string_view scheme_name = origin.substr(0, scheme);
  std::string o = authority(rest);
  std::string h = authority(host);
  if (o == h) {
    return true;
  }
  // A default port written on one side only.
  const char* port = scheme_name == "https" ? ":443" : ":80";
  return o + port == h || o == h + port;
}

}  // namespace edgelink::dispatcher::web
