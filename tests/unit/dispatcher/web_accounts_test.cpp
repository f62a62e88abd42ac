// The web console's accounts, pure parts: roles, what a user name and a password may be, the
// Argon2id hash round trip, session tokens, the web audit actor.
#include <sodium.h>

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "domain/audit.h"
#include "web/accounts.h"

using namespace edgelink::dispatcher;
using namespace edgelink::dispatcher::web;

TEST_CASE("roles parse by name and allow what lower roles may", "[dispatcher][web]") {
  CHECK(parseRole("viewer") == Role::kViewer);
  CHECK(parseRole("operator") == Role::kOperator);
  CHECK(parseRole("admin") == Role::kAdmin);
  CHECK_FALSE(parseRole("Admin"));
  CHECK_FALSE(parseRole(""));
  CHECK_FALSE(parseRole("root"));
  for (Role r : {Role::kViewer, Role::kOperator, Role::kAdmin}) {
    CHECK(parseRole(roleName(r)) == r);
  }
  CHECK(roleAllows(Role::kAdmin, Role::kOperator));
  CHECK(roleAllows(Role::kOperator, Role::kOperator));
  CHECK(roleAllows(Role::kOperator, Role::kViewer));
  CHECK_FALSE(roleAllows(Role::kViewer, Role::kOperator));
  CHECK_FALSE(roleAllows(Role::kOperator, Role::kAdmin));
}

TEST_CASE("user names are 1-64 letters, digits, dot, underscore, at and dash",
          "[dispatcher][web]") {
  CHECK(userNameProblem("alice").empty());
  CHECK(userNameProblem("a.b_c-d@example.com").empty());
  CHECK(userNameProblem(std::string(64, 'x')).empty());
  CHECK_FALSE(userNameProblem("").empty());
  CHECK_THAT(userNameProblem(std::string(65, 'x')), Catch::Contains("64"));
  CHECK_FALSE(userNameProblem("al ice").empty());
  CHECK_FALSE(userNameProblem("alice;drop").empty());
  CHECK_FALSE(userNameProblem("ålice").empty());
  CHECK_FALSE(userNameProblem(std::string("al\0ce", 5)).empty());
}

TEST_CASE("passwords need 10 characters, at most 1024 bytes, no NUL or line break",
          "[dispatcher][web]") {
  CHECK(passwordProblem("0123456789").empty());
  CHECK_THAT(passwordProblem("012345678"), Catch::Contains("at least 10"));
  CHECK_FALSE(passwordProblem("").empty());
  // Characters, not bytes: nine two-byte characters are still too short, ten are enough.
  std::string nine;
  for (int i = 0; i < 9; ++i) {
    nine += "\xc3\xa9";  // é
  }
  CHECK_FALSE(passwordProblem(nine).empty());
  CHECK(passwordProblem(nine + "\xc3\xa9").empty());
  CHECK(passwordProblem(std::string(1024, 'p')).empty());
  CHECK_THAT(passwordProblem(std::string(1025, 'p')), Catch::Contains("1024"));
  CHECK_FALSE(passwordProblem("0123456789\nx").empty());
  CHECK_FALSE(passwordProblem(std::string("0123456789\0x", 12)).empty());
  // The message never repeats the password.
  CHECK(passwordProblem("hunter2").find("hunter2") == std::string::npos);
}

TEST_CASE("a password hash is Argon2id, verifies the password and refuses another",
          "[dispatcher][web]") {
  auto hash = hashPassword("correct horse battery");
  REQUIRE(hash);
  CHECK(hash->rfind("$argon2id$", 0) == 0);
  CHECK(hash->find("correct horse") == std::string::npos);
  CHECK(verifyPassword(*hash, "correct horse battery"));
  CHECK_FALSE(verifyPassword(*hash, "correct horse batterY"));
  CHECK_FALSE(verifyPassword(*hash, ""));
  CHECK_FALSE(verifyPassword("not a hash", "correct horse battery"));
  CHECK_FALSE(passwordNeedsRehash(*hash));
  // Salted: the same password hashes differently each time.
  auto again = hashPassword("correct horse battery");
  REQUIRE(again);
  CHECK(*again != *hash);
  CHECK(verifyPassword(*again, "correct horse battery"));
}

TEST_CASE("a hash made with other parameters verifies but asks for a rehash", "[dispatcher][web]") {
  // What an older, weaker setting would have stored.
  REQUIRE(sodium_init() >= 0);
  char weak[crypto_pwhash_STRBYTES];
  const std::string pw = "correct horse battery";
  REQUIRE(crypto_pwhash_str_alg(weak, pw.data(), pw.size(), crypto_pwhash_OPSLIMIT_MIN,
                                crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13) == 0);
  CHECK(verifyPassword(weak, pw));
  CHECK(passwordNeedsRehash(weak));
}

TEST_CASE("session tokens are 32 random bytes in base64url and stored as their SHA-256",
          "[dispatcher][web]") {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto t = randomToken();
    CHECK(t.size() == 43);
    CHECK(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
          std::string::npos);
    seen.insert(t);
  }
  CHECK(seen.size() == 50);
  // SHA-256("abc"), FIPS 180-2's example.
  CHECK(sessionTokenHash("abc") ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  auto t = randomToken();
  CHECK(sessionTokenHash(t).size() == 64);
  CHECK(sessionTokenHash(t) != t);
}

TEST_CASE("a web user's audit actor is of kind web", "[dispatcher][web][audit]") {
  auto a = webActor("alice");
  CHECK(a.name == "alice");
  CHECK(a.kind == "web");
  CHECK(a.keyId.empty());
}
