#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace edgelink::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction
/// (kept when EDGELINK_KEEP_TEST_DIRS is set, for post-mortems).
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "edgelink-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  /// path() + "/" + name
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Removes a directory tree (like rm -rf). Returns false on failure.
bool removeTree(const std::string& path);

/// A TCP port on 127.0.0.1 that was free a moment ago.
uint16_t freeTcpPort();

/// Polls `predicate` every `pollMs` until it holds (true) or `timeoutMs` passes (false).
bool waitUntil(const std::function<bool()>& predicate, int timeoutMs, int pollMs = 20);

/// Writes a file (throws std::runtime_error on failure: test code only).
void writeText(const std::string& path, const std::string& text);
/// Reads a file, "" when missing.
std::string readText(const std::string& path);

/// The resident set size of a process in bytes (from /proc), 0 when unknown.
uint64_t rssBytes(int pid);
/// The number of threads of a process (from /proc), 0 when unknown.
int threadCount(int pid);
/// CPU time (user+system) of a process in milliseconds, -1 when unknown.
int64_t cpuTimeMs(int pid);

}  // namespace edgelink::testing
