// Secrets come from files only: refused on the command line (ps shows it to every user) and in
// a config file others may read — each problem naming the flag or file, never the secret.
#include "config/secrets.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "harness/test_util.h"

using namespace edgelink;
using namespace edgelink::config;

TEST_CASE("secret properties are told from paths and names", "[config][secrets]") {
  for (const char* key :
       {"sasl.password", "ssl.key.password", "ssl.keystore.password",
        "sasl.oauthbearer.client.secret", "ssl.key.pem", "sasl.jaas.config", "SASL.PASSWORD"}) {
    INFO(key);
    CHECK(isSecretProperty(key));
  }
  for (const char* key : {"sasl.username", "sasl.mechanism", "ssl.key.location", "ssl.ca.location",
                          "security.protocol", "client.id"}) {
    INFO(key);
    CHECK_FALSE(isSecretProperty(key));
  }
}

TEST_CASE("a password in a libpq conninfo or URI is found", "[config][secrets]") {
  CHECK(conninfoHasPassword("host=db user=x password=hunter2"));
  CHECK(conninfoHasPassword("host=db password = hunter2"));
  CHECK(conninfoHasPassword("postgresql://x:hunter2@db/edgelink"));
  CHECK(conninfoHasPassword("postgres://db/edgelink?password=hunter2"));
  CHECK_FALSE(conninfoHasPassword("host=db user=x dbname=edgelink"));
  CHECK_FALSE(conninfoHasPassword("host=db passfile=/etc/edgelink/pgpass"));
  CHECK_FALSE(conninfoHasPassword("postgresql://x@db/edgelink"));
  CHECK_FALSE(conninfoHasPassword("postgresql://db:5432/edgelink"));
  CHECK_FALSE(conninfoHasPassword(""));
}

TEST_CASE("secrets on the command line are refused, naming the flag and key, not the value",
          "[config][secrets]") {
  const char* argv[] = {"edge-agent",
                        "--kafka-property",
                        "sasl.password=hunter2",
                        "--kafka-property=ssl.key.password=hunter3",
                        "--kafka-property",
                        "sasl.username=board-1",
                        "--pg-conninfo",
                        "host=db password=hunter4",
                        "--config",
                        "x.conf"};
  auto p = secretsOnCommandLine(10, argv, {"--kafka-property"}, {"--pg-conninfo"});
  REQUIRE(p.lines().size() == 3);
  CHECK(p.lines()[0].rfind("kafka-property: sasl.password on the command line", 0) == 0);
  CHECK(p.lines()[1].rfind("kafka-property: ssl.key.password", 0) == 0);
  CHECK(p.lines()[2].rfind("pg-conninfo: a password on the command line", 0) == 0);
  for (const auto& line : p.lines()) {
    CHECK(line.find("hunter") == std::string::npos);
  }
  const char* clean[] = {"edge-agent", "--kafka-property", "sasl.username=b", "--config", "x"};
  CHECK(secretsOnCommandLine(5, clean, {"--kafka-property"}, {"--pg-conninfo"}).empty());
  const char* dangling[] = {"edge-agent", "--kafka-property"};  // no value: nothing to read
  CHECK(secretsOnCommandLine(2, dangling, {"--kafka-property"}, {}).empty());
}

TEST_CASE("a config file holding secrets must not be readable by others", "[config][secrets]") {
  testing::TempDir dir;
  const std::string path = dir.file("agent.conf");
  testing::writeText(path, "kafka-property = [\"sasl.password=hunter2\"]\n");
  for (mode_t mode : {0600, 0640, 0660}) {
    ::chmod(path.c_str(), mode);
    CHECK(configFileExposesSecrets(path, {"kafka-property sasl.password"}).empty());
  }
  ::chmod(path.c_str(), 0644);
  auto open = configFileExposesSecrets(path, {"kafka-property sasl.password"});
  REQUIRE(open.lines().size() == 1);
  CHECK(open.lines()[0] == "config: " + path +
                               " holds secrets (kafka-property sasl.password) and is mode 0644: "
                               "others may read it (chmod 640 or 600 " +
                               path + ")");
  CHECK(configFileExposesSecrets(path, {}).empty());  // no secret in it: any mode
  CHECK(configFileExposesSecrets("", {"x"}).empty());
}
