#include "admin_api.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "harness/test_util.h"

using namespace edgelink;
using namespace edgelink::agent;

namespace {

/// A one-shot HTTP server on 127.0.0.1 answering `reply` (or nothing when empty) to one request;
/// the request it got is kept.
class OneShotServer {
 public:
  explicit OneShotServer(std::string reply, bool silent = false) : reply_(std::move(reply)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    ::listen(fd_, 1);
    thread_ = std::thread([this, silent] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) {
        return;
      }
      char buf[4096];
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n > 0) {
        request_.assign(buf, static_cast<size_t>(n));
      }
      if (silent) {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
      } else {
        ssize_t w = ::send(c, reply_.data(), reply_.size(), MSG_NOSIGNAL);
        (void)w;
      }
      ::close(c);
    });
  }
  ~OneShotServer() {
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  const std::string& request() const { return request_; }

 private:
  std::string reply_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::string request_;
  std::thread thread_;
};

// What frpc v0.52+ answers on /api/status (client/admin_api.go's StatusResp).
const char* kStatus =
    R"({"tcp":[{"name":"e1.camera_admin","type":"tcp","status":"start error",)"
    R"("err":"port already used","local_addr":"192.168.1.64:80","plugin":"","remote_addr":""},)"
    R"({"name":"e1.ssh","type":"tcp","status":"running","err":"","local_addr":"127.0.0.1:22",)"
    R"("plugin":"","remote_addr":"frps.example.com:31022"}]})";

}  // namespace

TEST_CASE("frpc's /api/status is read into proxy statuses by name", "[agent][admin-api]") {
  auto s = parseProxyStatus(kStatus);
  REQUIRE(s.ok());
  REQUIRE(s->size() == 2);
  CHECK(s->at("e1.ssh").status == "running");
  CHECK(s->at("e1.ssh").remoteAddr == "frps.example.com:31022");
  CHECK(s->at("e1.camera_admin").status == "start error");
  CHECK(s->at("e1.camera_admin").err == "port already used");
  CHECK(parseProxyStatus("{}")->empty());  // frpc before login
  CHECK_FALSE(parseProxyStatus("[]").ok());
  CHECK_FALSE(parseProxyStatus(R"({"tcp":{}})").ok());
  CHECK_FALSE(parseProxyStatus("<html>").ok());
}

TEST_CASE("the admin API is asked with basic auth, and plain and chunked answers are read",
          "[agent][admin-api]") {
  CHECK(base64("edge-agent:pw") == "ZWRnZS1hZ2VudDpwdw==");
  CHECK(base64("a") == "YQ==");
  CHECK(base64("ab") == "YWI=");
  {
    std::string body = kStatus;
    OneShotServer server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body);
    auto s = fetchProxyStatus(server.port(), "edge-agent", "pw", 2000);
    REQUIRE(s.ok());
    CHECK(s->size() == 2);
    CHECK_THAT(server.request(), Catch::StartsWith("GET /api/status HTTP/1.1\r\n"));
    CHECK_THAT(server.request(), Catch::Contains("Authorization: Basic ZWRnZS1hZ2VudDpwdw=="));
  }
  {
    OneShotServer server(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
        "chunked\r\n\r\n5\r\n{\"tcp\r\n5\r\n\":[]}\r\n0\r\n\r\n");
    auto r = httpGet(server.port(), "/api/status", "u", "p", 2000);
    REQUIRE(r.ok());
    CHECK(r->body == "{\"tcp\":[]}");
  }
  {
    OneShotServer server("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    auto s = fetchProxyStatus(server.port(), "u", "wrong", 2000);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().status == Status::kForbidden);
  }
}

TEST_CASE("nothing listening is 503 and a silent server times out (504), both bounded",
          "[agent][admin-api]") {
  auto refused = httpGet(testing::freeTcpPort(), "/api/status", "u", "p", 500);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().status == Status::kUnavailable);
  OneShotServer silent("", true);
  auto slow = httpGet(silent.port(), "/api/status", "u", "p", 100);
  REQUIRE_FALSE(slow.ok());
  CHECK(slow.error().status == Status::kTimeout);
}
