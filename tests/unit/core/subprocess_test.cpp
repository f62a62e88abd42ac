#include "core/subprocess.h"

#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>

#include "harness/test_util.h"

using namespace edgelink;

TEST_CASE("a missing program is an error at spawn, not a child exiting 127", "[process]") {
  SpawnOptions o;
  o.argv = {"/nonexistent/frpc", "-c", "x"};
  auto p = Subprocess::spawn(o);
  REQUIRE_FALSE(p.ok());
  CHECK_THAT(p.error().message, Catch::Contains("/nonexistent/frpc"));
}

TEST_CASE("exit status and output are captured", "[process]") {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo hello; exit 3"};
  o.pipeStdout = true;
  auto p = Subprocess::spawn(o);
  REQUIRE(p.ok());
  CHECK(readLine(p->stdoutFd(), 5000) == std::string("hello"));
  auto status = p->waitFor(5000);
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 3);
  CHECK(describeWaitStatus(*status) == "exited with status 3");
}

TEST_CASE("terminate escalates to SIGKILL when SIGTERM is ignored", "[process]") {
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"};
  o.pipeStdout = true;
  auto p = Subprocess::spawn(o);
  REQUIRE(p.ok());
  REQUIRE(readLine(p->stdoutFd(), 5000) == std::string("ready"));
  int status = p->terminate(200);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
}

TEST_CASE("extra environment entries reach the child and replace inherited ones", "[process]") {
  testing::TempDir dir;
  setenv("EDGELINK_TEST_VAR", "old", 1);
  SpawnOptions o;
  o.argv = {"/bin/sh", "-c", "echo \"$EDGELINK_TEST_VAR\" > " + dir.file("out")};
  o.extraEnv = {"EDGELINK_TEST_VAR=new"};
  auto p = Subprocess::spawn(o);
  REQUIRE(p.ok());
  REQUIRE(p->waitFor(5000));
  CHECK(testing::readText(dir.file("out")) == "new\n");
}
