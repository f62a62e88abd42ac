// Linked into every executable of a ThreadSanitizer build (EDGELINK_SANITIZE contains thread).
//
// GCC 12's TSan runtime intercepts open() but not mkstemp(), so it never sees mkstemp's file
// descriptor being created and keeps what it knew about an earlier descriptor with the same
// number. When that one was read in another thread (libcrypto, in a librdkafka thread, on a
// SASL_SSL connection) and closed in a way TSan did not see either, the close of our temporary
// file (core/atomic_file.cpp, the agent saving its state) read as a data race with that read: two
// different files, one number. This mkstemp, defined in the executable, takes precedence over
// glibc's and creates the file with open(O_CREAT | O_EXCL), which TSan sees (it starts the
// descriptor afresh). glibc's contract is kept: the template's last six characters must be
// "XXXXXX" (else EINVAL) and are replaced in place; the file is created 0600; EEXIST retries.

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

extern "C" int mkstemp(char* tmpl) {
  static const char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  const size_t len = std::strlen(tmpl);
  if (len < 6 || std::strcmp(tmpl + len - 6, "XXXXXX") != 0) {
    errno = EINVAL;
    return -1;
  }
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t v = static_cast<uint64_t>(ts.tv_nsec) ^ (static_cast<uint64_t>(ts.tv_sec) << 20) ^
               (static_cast<uint64_t>(::getpid()) << 40) ^ reinterpret_cast<uintptr_t>(&ts);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    v = v * 6364136223846793005ULL + 1442695040888963407ULL;  // an LCG step per attempt
    uint64_t r = v >> 16;
    for (size_t i = len - 6; i < len; ++i) {
      tmpl[i] = kChars[r % 62];
      r /= 62;
    }
    const int fd = ::open(tmpl, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 || errno != EEXIST) {
      return fd;
    }
  }
  errno = EEXIST;
  return -1;
}
