#include "harness/http_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

namespace edgelink::testing {

HttpResponse httpGet(int port, const std::string& path) {
  return httpRequest(port, "GET", path);
}

std::string HttpResponse::header(const std::string& name) const {
  std::istringstream lines(headers);
  std::string line;
  auto lower = [](std::string t) {
    for (char& c : t) {
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return t;
  };
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    const size_t colon = line.find(':');
    if (colon != std::string::npos && lower(line.substr(0, colon)) == lower(name)) {
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') {
        ++v;
      }
      return line.substr(v);
    }
  }
  return {};
}

HttpResponse httpRequest(int port, const std::string& method, const std::string& path,
                         const std::vector<std::string>& headers, const std::string& body,
                         int timeoutMs) {
  HttpResponse out;
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) {
    return out;
  }
  timeval tv{timeoutMs / 1000, (timeoutMs % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return out;
  }
  std::string request =
      method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n";
  for (const auto& h : headers) {
    request += h + "\r\n";
  }
  if (!body.empty() || method == "POST") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  size_t sent = 0;
  while (sent < request.size()) {
    const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      break;  // the server may answer (413) before reading everything
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      break;
    }
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t headerEnd = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || headerEnd == std::string::npos || raw.size() < 12) {
    return out;
  }
  out.status = std::atoi(raw.substr(9, 3).c_str());
  out.headers = raw.substr(0, headerEnd + 2);
  out.body = raw.substr(headerEnd + 4);
  return out;
}

int metricsPortFromLog(const std::string& log) {
  const std::string marker = "metrics on http://";
  const size_t at = log.find(marker);
  if (at == std::string::npos) {
    return 0;
  }
  const size_t slash = log.find("/metrics", at + marker.size());
  const size_t colon = log.rfind(':', slash);
  if (slash == std::string::npos || colon == std::string::npos || colon < at) {
    return 0;
  }
  return std::atoi(log.substr(colon + 1, slash - colon - 1).c_str());
}

std::optional<double> sample(const std::string& scrape, const std::string& series) {
  std::istringstream lines(scrape);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

}  // namespace edgelink::testing
