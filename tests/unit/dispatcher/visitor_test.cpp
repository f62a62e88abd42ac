// stcp sessions on the operator's side: the secret and the visitor config a maintainer runs.
#include "cli/visitor.h"

#include <catch2/catch.hpp>
#include <set>

using namespace edgelink;
using namespace edgelink::dispatcher;

TEST_CASE("base64url without padding, RFC 4648 vectors", "[dispatcher][stcp]") {
  CHECK(base64Url("") == "");
  CHECK(base64Url("f") == "Zg");
  CHECK(base64Url("fo") == "Zm8");
  CHECK(base64Url("foo") == "Zm9v");
  CHECK(base64Url("foobar") == "Zm9vYmFy");
  CHECK(base64Url(std::string("\xfb\xff\xbf", 3)) == "-_-_");
}

TEST_CASE("each stcp secret is 32 fresh random bytes in base64url", "[dispatcher][stcp]") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto s = newStcpSecret();
    REQUIRE(s.ok());
    CHECK(s->size() == 43);
    CHECK(
        s->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
        std::string::npos);
    seen.insert(*s);
  }
  CHECK(seen.size() == 50);
}

TEST_CASE("the visitor config names each service's proxy, the secret and a local port",
          "[dispatcher][stcp]") {
  VisitorSettings vs;
  vs.frpsHost = "frps.example.com";
  vs.frpsPort = 7443;
  vs.tokenFile = "/home/m/frps-token";
  vs.caFile = "/home/m/frps-ca.pem";
  vs.firstBindPort = 16000;
  const std::string secret(43, 'k');
  Services services = {{"ssh", 0}, {"fcc_web", 0}};
  std::string c = visitorConfig(vs, "elevator-0042", 12, services, secret);
  CHECK_THAT(c, Catch::StartsWith("# frpc visitor for stcp session 12 on edge elevator-0042"));
  CHECK_THAT(c, Catch::Contains("serverAddr = \"frps.example.com\"\nserverPort = 7443\n"));
  CHECK_THAT(c, Catch::Contains("auth.tokenSource.file.path = \"/home/m/frps-token\""));
  CHECK_THAT(c, Catch::Contains("transport.tls.enable = true\n"
                                "transport.tls.trustedCaFile = \"/home/m/frps-ca.pem\""));
  // Services in the session's order (fcc_web, ssh), ports counted up from the first.
  CHECK_THAT(c, Catch::Contains("serverName = \"elevator-0042.fcc_web\"\nsecretKey = \"" + secret +
                                "\"\nbindAddr = \"127.0.0.1\"\nbindPort = 16000\n"));
  CHECK_THAT(c, Catch::Contains("serverName = \"elevator-0042.ssh\"\nsecretKey = \"" + secret +
                                "\"\nbindAddr = \"127.0.0.1\"\nbindPort = 16001\n"));
  CHECK_THAT(c, !Catch::Contains("auth.token ="));  // never the token itself

  Options o;
  o.frpsHost = "frps.example.com";
  CHECK(visitorHints(o, services, 16000) ==
        "ssh: ssh -p 16001 root@127.0.0.1\nfcc_web: http://127.0.0.1:16000/\n");
  vs.caFile.clear();
  CHECK_THAT(visitorConfig(vs, "e", 1, services, secret), !Catch::Contains("trustedCaFile"));
}
