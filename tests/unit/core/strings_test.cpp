#include "core/strings.h"

#include <catch2/catch.hpp>

using namespace edgelink;

TEST_CASE("integers parse strictly", "[strings]") {
  CHECK(parseInt64("0") == 0);
  CHECK(parseInt64("-42") == -42);
  CHECK(parseInt64("9223372036854775807") == INT64_MAX);
  CHECK(parseInt64("-9223372036854775808") == INT64_MIN);
  CHECK_FALSE(parseInt64("9223372036854775808"));
  CHECK_FALSE(parseInt64(""));
  CHECK_FALSE(parseInt64("-"));
  CHECK_FALSE(parseInt64(" 1"));
  CHECK_FALSE(parseInt64("1 "));
  CHECK_FALSE(parseInt64("1e3"));
  CHECK_FALSE(parseInt64("0x10"));
  CHECK(parseUint64("18446744073709551615") == UINT64_MAX);
  CHECK_FALSE(parseUint64("18446744073709551616"));
}

TEST_CASE("host:port parsing validates the port and host characters", "[strings]") {
  auto hp = parseHostPort("127.0.0.1:22");
  REQUIRE(hp);
  CHECK(hp->first == "127.0.0.1");
  CHECK(hp->second == 22);
  CHECK(parseHostPort("[::1]:8080")->first == "::1");
  CHECK(parseHostPort("frps.example.com:7000")->second == 7000);
  CHECK_FALSE(parseHostPort("host:0"));
  CHECK_FALSE(parseHostPort("host:65536"));
  CHECK_FALSE(parseHostPort("host"));
  CHECK_FALSE(parseHostPort(":22"));
  CHECK_FALSE(parseHostPort("::1:22"));
  CHECK_FALSE(parseHostPort("ho st:22"));
  CHECK_FALSE(parseHostPort("host\n[x]:22"));
}

TEST_CASE("secret keys are recognised and masked", "[strings]") {
  CHECK(isSecretKey("sasl.password"));
  CHECK(isSecretKey("ssl.key.password"));
  CHECK(isSecretKey("frps_token_file"));
  CHECK(isSecretKey("webServer.password"));
  CHECK_FALSE(isSecretKey("bootstrap.servers"));
  CHECK(maskIfSecret("sasl.password", "hunter2") == "******");
  CHECK(maskIfSecret("client.id", "edge-1") == "edge-1");
}

TEST_CASE("hex digits and hex text", "[strings]") {
  CHECK(hexDigitValue('0') == 0);
  CHECK(hexDigitValue('9') == 9);
  CHECK(hexDigitValue('a') == 10);
  CHECK(hexDigitValue('F') == 15);
  for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0', '\xff'}) {
    CHECK(hexDigitValue(c) == -1);
  }
  CHECK(toHex("").empty());
  CHECK(toHex(std::string("\x00\x01\x7f\x80\xff", 5)) == "00017f80ff");
  CHECK(toHex("Az") == "417a");
}

TEST_CASE("split, trim, join and key=value", "[strings]") {
  CHECK(split("a,b,,c", ',') == std::vector<std::string>{"a", "b", "", "c"});
  CHECK(trim("  x y \t\n") == "x y");
  CHECK(trim("   ").empty());
  CHECK(join({"a", "b"}, ", ") == "a, b");
  auto kv = splitKeyValue("ssh=127.0.0.1:22");
  REQUIRE(kv);
  CHECK(kv->first == "ssh");
  CHECK(kv->second == "127.0.0.1:22");
  CHECK(splitKeyValue("a==b")->second == "=b");
  CHECK_FALSE(splitKeyValue("=x"));
  CHECK_FALSE(splitKeyValue("novalue"));
}
