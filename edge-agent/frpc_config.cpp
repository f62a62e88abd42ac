#include "frpc_config.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <set>

namespace edgelink::agent {
namespace {

/// Length of the UTF-8 sequence starting at s[i] (0 when invalid), rejecting overlong forms,
/// surrogates and code points above U+10FFFF.
size_t utf8Length(std::string_view s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  if (c < 0x80) {
    return 1;
  }
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

bool plainIniChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7F;
}

}  // namespace

std::string proxyName(const std::string& edgeId, const std::string& service) {
  return edgeId + "." + service;
}

VoidResult checkFrpcString(std::string_view value, FrpcFormat format) {
  for (size_t i = 0; i < value.size();) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7F) {
      return Error(Status::kInternal,
                   "contains a control character (line breaks and the like cannot be written "
                   "into an frpc config)");
    }
    size_t n = utf8Length(value, i);
    if (n == 0) {
      return Error(Status::kInternal, "is not valid UTF-8");
    }
    i += n;
  }
  if (value.find("{{") != std::string_view::npos) {
    return Error(Status::kInternal,
                 "contains \"{{\", which frp would read as a Go template action");
  }
  if (format == FrpcFormat::kIni && value.find("%(") != std::string_view::npos) {
    return Error(Status::kInternal,
                 "contains \"%(\", which frp's INI parser would read as a value reference");
  }
  return {};
}

std::string tomlString(std::string_view value) {
  std::string out = "\"";
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    switch (ch) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

std::string iniValue(std::string_view value) {
  // go-ini (as frp calls it) reads a value by trimming spaces, taking `...` and """...""" up to
  // their last closing mark verbatim, joining a line ending in '\' with the next, and
  // stripping one pair of surrounding quotes. A plain value avoids all of these; anything else
  // goes in backquotes, which go-ini returns verbatim up to the last backquote on the line.
  bool plain = !value.empty() && plainIniChar(value.front()) && plainIniChar(value.back()) &&
               value.front() != '`' && value.front() != '"' && value.front() != '\'' &&
               value.back() != '\\' && value.back() != '"' && value.back() != '\'';
  if (plain) {
    for (char c : value) {
      if (static_cast<unsigned char>(c) >= 0x80) {
        plain = false;  // unicode spaces would be trimmed; quote anything non-ASCII
        break;
      }
    }
  }
  if (plain || value.empty()) {
    return std::string(value);
  }
  return "`" + std::string(value) + "`";
}

Result<std::string> renderFrpcConfig(FrpcFormat format, const FrpcSettings& s,
                                     const std::vector<ProxySpec>& proxies) {
  if (proxies.empty()) {
    return Error(Status::kInternal, "no proxies to write");
  }
  struct Field {
    const char* what;
    const std::string* value;
  };
  std::vector<Field> fields = {{"frps address", &s.serverAddr},
                               {"frps token", &s.token},
                               {"admin address", &s.adminAddr},
                               {"admin user", &s.adminUser},
                               {"admin password", &s.adminPassword}};
  std::set<std::string> names;
  for (const auto& p : proxies) {
    fields.push_back({"proxy name", &p.name});
    fields.push_back({"local address", &p.localIp});
    if (!names.insert(p.name).second) {
      return Error(Status::kInternal, "proxy name '" + p.name + "' is used twice");
    }
    if (p.localPort == 0 || p.remotePort == 0) {
      return Error(Status::kInternal, "proxy '" + p.name + "' has port 0");
    }
  }
  for (const auto& f : fields) {
    if (auto r = checkFrpcString(*f.value, format); !r) {
      // Secrets are named, never quoted.
      return Error(Status::kInternal, std::string("the ") + f.what + " " + r.error().message);
    }
  }
  if (s.serverAddr.empty() || s.adminAddr.empty()) {
    return Error(Status::kInternal, "frps address and admin address are required");
  }
  std::string out;
  if (format == FrpcFormat::kToml) {
    out +=
        "# Generated by edge-agent for one frp session. Do not edit: rewritten on every start.\n";
    out += "serverAddr = " + tomlString(s.serverAddr) + "\n";
    out += "serverPort = " + std::to_string(s.serverPort) + "\n";
    out += "loginFailExit = true\n";
    out += "auth.method = \"token\"\n";
    if (!s.token.empty()) {
      out += "auth.token = " + tomlString(s.token) + "\n";
    }
    out += "webServer.addr = " + tomlString(s.adminAddr) + "\n";
    out += "webServer.port = " + std::to_string(s.adminPort) + "\n";
    out += "webServer.user = " + tomlString(s.adminUser) + "\n";
    out += "webServer.password = " + tomlString(s.adminPassword) + "\n";
    out += "log.disablePrintColor = true\n";
    if (s.tls) {
      out += std::string("transport.tls.enable = ") + (*s.tls ? "true" : "false") + "\n";
    }
    for (const auto& p : proxies) {
      out += "\n[[proxies]]\n";
      out += "name = " + tomlString(p.name) + "\n";
      out += "type = \"tcp\"\n";
      out += "localIP = " + tomlString(p.localIp) + "\n";
      out += "localPort = " + std::to_string(p.localPort) + "\n";
      out += "remotePort = " + std::to_string(p.remotePort) + "\n";
    }
  } else {
    out +=
        "# Generated by edge-agent for one frp session. Do not edit: rewritten on every start.\n";
    out += "[common]\n";
    out += "server_addr = " + iniValue(s.serverAddr) + "\n";
    out += "server_port = " + std::to_string(s.serverPort) + "\n";
    out += "login_fail_exit = true\n";
    out += "authentication_method = token\n";
    if (!s.token.empty()) {
      out += "token = " + iniValue(s.token) + "\n";
    }
    out += "admin_addr = " + iniValue(s.adminAddr) + "\n";
    out += "admin_port = " + std::to_string(s.adminPort) + "\n";
    out += "admin_user = " + iniValue(s.adminUser) + "\n";
    out += "admin_pwd = " + iniValue(s.adminPassword) + "\n";
    out += "disable_log_color = true\n";
    if (s.tls) {
      out += std::string("tls_enable = ") + (*s.tls ? "true" : "false") + "\n";
    }
    for (const auto& p : proxies) {
      // Section names are edge ids and service names: [A-Za-z0-9._-] only.
      out += "\n[" + p.name + "]\n";
      out += "type = tcp\n";
      out += "local_ip = " + iniValue(p.localIp) + "\n";
      out += "local_port = " + std::to_string(p.localPort) + "\n";
      out += "remote_port = " + std::to_string(p.remotePort) + "\n";
    }
  }
  return out;
}

FrpcSettings frpcSettings(const AgentConfig& config, std::string adminUser,
                          std::string adminPassword) {
  FrpcSettings s;
  s.serverAddr = config.options.frpsAddr;
  s.serverPort = static_cast<uint16_t>(config.options.frpsPort);
  s.token = config.frpsToken;
  s.tls = config.frpsTls;
  s.adminPort = static_cast<uint16_t>(config.options.frpcAdminPort);
  s.adminUser = std::move(adminUser);
  s.adminPassword = std::move(adminPassword);
  return s;
}

std::string randomPassword(size_t length) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out;
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  while (out.size() < length) {
    unsigned char buf[64];
    ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof buf) : -1;
    if (n <= 0) {
      break;
    }
    for (ssize_t i = 0; i < n && out.size() < length; ++i) {
      if (buf[i] < 248) {  // 248 = 4 * 62: no modulo bias
        out += kAlphabet[buf[i] % 62];
      }
    }
  }
  if (fd >= 0) {
    ::close(fd);
  }
  return out;
}

}  // namespace edgelink::agent
