#include "admin_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <rapidjson/document.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "core/clock.h"
#include "core/strings.h"
#include "core/unique_fd.h"

namespace edgelink::agent {
namespace {

std::string memberString(const rapidjson::Value& obj, const char* key) {
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd() || !it->value.IsString()) {
    return {};
  }
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

/// Waits until `fd` is ready for `events` or the deadline passes.
bool waitFd(int fd, short events, int64_t deadlineMs) {
  const auto& clock = SystemClock::instance();
  for (;;) {
    int64_t left = deadlineMs - clock.monoMs();
    if (left <= 0) {
      return false;
    }
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r > 0) {
      return true;
    }
    if (r < 0 && errno != EINTR) {
      return false;
    }
  }
}

}  // namespace

Result<std::map<std::string, ProxyStatus>> parseProxyStatus(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return Error(Status::kInternal, "frpc's /api/status is not a JSON object");
  }
  std::map<std::string, ProxyStatus> out;
  for (const auto& byType : doc.GetObject()) {
    if (!byType.value.IsArray()) {
      return Error(Status::kInternal, "frpc's /api/status: expected a list per proxy type");
    }
    for (const auto& p : byType.value.GetArray()) {
      if (!p.IsObject()) {
        return Error(Status::kInternal, "frpc's /api/status: expected proxy objects");
      }
      ProxyStatus s;
      s.name = memberString(p, "name");
      s.type = memberString(p, "type");
      s.status = memberString(p, "status");
      s.err = memberString(p, "err");
      s.localAddr = memberString(p, "local_addr");
      s.remoteAddr = memberString(p, "remote_addr");
      if (!s.name.empty()) {
        out[s.name] = s;
      }
    }
  }
  return out;
}

std::string base64(std::string_view data) {
  static const char kTable[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 2 < data.size(); i += 3) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += kTable[v & 63];
  }
  if (i + 1 == data.size()) {
    uint32_t v = byte(i) << 16;
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == data.size()) {
    uint32_t v = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kTable[(v >> 18) & 63];
    out += kTable[(v >> 12) & 63];
    out += kTable[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<HttpResponse> httpGet(uint16_t port, const std::string& path, const std::string& user,
                             const std::string& password, int timeoutMs) {
  const int64_t deadline = SystemClock::instance().monoMs() + timeoutMs;
  UniqueFd sock(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) {
    return Error(Status::kInternal, std::string("socket: ") + std::strerror(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const std::string where = "frpc admin API on 127.0.0.1:" + std::to_string(port);
  if (::connect(sock.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      return Error(Status::kUnavailable, where + ": " + std::strerror(errno));
    }
    if (!waitFd(sock.get(), POLLOUT, deadline)) {
      return Error(Status::kTimeout, where + ": connect timed out");
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(sock.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      return Error(Status::kUnavailable, where + ": " + std::strerror(err));
    }
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nAuthorization: Basic " + base64(user + ":" + password) +
                        "\r\nConnection: close\r\nAccept: application/json\r\n\r\n";
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(sock.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!waitFd(sock.get(), POLLOUT, deadline)) {
        return Error(Status::kTimeout, where + ": send timed out");
      }
    } else {
      return Error(Status::kUnavailable, where + ": " + std::strerror(errno));
    }
  }
  std::string raw;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(sock.get(), buf, sizeof buf, 0);
    if (n > 0) {
      raw.append(buf, static_cast<size_t>(n));
      if (raw.size() > 1024 * 1024) {
        return Error(Status::kInternal, where + ": answer larger than 1 MiB");
      }
      continue;
    }
    if (n == 0) {
      break;
    }
    if (errno == EAGAIN || errno == EINTR) {
      if (!waitFd(sock.get(), POLLIN, deadline)) {
        return Error(Status::kTimeout,
                     where + ": no complete answer within " + std::to_string(timeoutMs) + " ms");
      }
      continue;
    }
    return Error(Status::kUnavailable, where + ": " + std::strerror(errno));
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody". Go's server answers Connection: close requests
  // without chunking when the handler's output is small; chunked bodies are decoded below.
  auto headerEnd = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || headerEnd == std::string::npos) {
    return Error(Status::kInternal, where + ": not an HTTP answer");
  }
  HttpResponse out;
  auto space = raw.find(' ');
  out.status = std::atoi(raw.c_str() + space + 1);
  std::string headers = raw.substr(0, headerEnd);
  std::string body = raw.substr(headerEnd + 4);
  std::string lower = headers;
  for (auto& c : lower) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (lower.find("transfer-encoding: chunked") != std::string::npos) {
    std::string decoded;
    size_t pos = 0;
    for (;;) {
      auto eol = body.find("\r\n", pos);
      if (eol == std::string::npos) {
        return Error(Status::kInternal, where + ": truncated chunked answer");
      }
      size_t size = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (size == 0) {
        break;
      }
      if (eol + 2 + size > body.size()) {
        return Error(Status::kInternal, where + ": truncated chunked answer");
      }
      decoded += body.substr(eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    body = std::move(decoded);
  }
  out.body = std::move(body);
  return out;
}

Result<std::map<std::string, ProxyStatus>> fetchProxyStatus(uint16_t port, const std::string& user,
                                                            const std::string& password,
                                                            int timeoutMs) {
  auto r = httpGet(port, "/api/status", user, password, timeoutMs);
  if (!r) {
    return r.error();
  }
  if (r->status != 200) {
    return Error(r->status == 401 ? Status::kForbidden : Status::kUnavailable,
                 "frpc admin API answered HTTP " + std::to_string(r->status));
  }
  return parseProxyStatus(r->body);
}

}  // namespace edgelink::agent
