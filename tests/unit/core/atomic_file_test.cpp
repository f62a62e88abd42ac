#include "core/atomic_file.h"

#include <dirent.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "harness/test_util.h"

using namespace edgelink;

namespace {
int countEntries(const std::string& dir) {
  int n = 0;
  DIR* d = opendir(dir.c_str());
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") {
      ++n;
    }
  }
  closedir(d);
  return n;
}
}  // namespace

TEST_CASE("atomic writes replace content, set the mode and leave no temp files", "[file]") {
  testing::TempDir dir;
  std::string path = dir.file("frpc.toml");
  REQUIRE(writeFileAtomic(path, "token = \"secret\"\n", 0600).ok());
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(*readFile(path) == "token = \"secret\"\n");

  REQUIRE(writeFileAtomic(path, "second", 0640).ok());
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  CHECK(*readFile(path) == "second");
  CHECK(countEntries(dir.path()) == 1);
}

TEST_CASE("atomic write into a missing directory fails with a message naming the path", "[file]") {
  testing::TempDir dir;
  auto r = writeFileAtomic(dir.file("no/such/dir/x"), "data", 0600);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("no/such/dir/x"));
}

TEST_CASE("readFile reports a missing file as not found", "[file]") {
  auto r = readFile("/nonexistent/edgelink/file");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().status == Status::kNotFound);
}

TEST_CASE("makeDirs creates parents and accepts existing directories", "[file]") {
  testing::TempDir dir;
  REQUIRE(makeDirs(dir.file("a/b/c"), 0700).ok());
  REQUIRE(makeDirs(dir.file("a/b/c"), 0700).ok());
  testing::writeText(dir.file("f"), "x");
  CHECK_FALSE(makeDirs(dir.file("f"), 0700).ok());
}
