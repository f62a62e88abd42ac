#include "core/atomic_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "core/unique_fd.h"

namespace edgelink {
namespace {

std::string dirOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

Error sysError(const std::string& what, const std::string& path) {
  return Error(Status::kInternal, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

VoidResult writeFileAtomic(const std::string& path, const std::string& data, mode_t mode) {
  // Every failure reads "cannot write PATH: CAUSE" (the cause from errno: "No space left on
  // device", "Input/output error", "Read-only file system", "Disk quota exceeded"), whichever
  // step failed; the temporary file is removed.
  auto failed = [&path](const char* step) {
    return Error(Status::kInternal,
                 "cannot write " + path + ": " + std::strerror(errno) + " (" + step + ")");
  };
  std::string tmpl = path + ".tmp.XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  UniqueFd fd(::mkstemp(name.data()));
  if (fd.get() < 0) {
    return failed("creating its temporary file");
  }
  std::string tmpPath(name.data());
  auto fail = [&](const char* step) {
    Error e = failed(step);
    ::unlink(tmpPath.c_str());
    return e;
  };
  // Set the mode before any byte lands, so a secret is never readable by others.
  if (::fchmod(fd.get(), mode) != 0) {
    return fail("chmod");
  }
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write");
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    return fail("fsync");
  }
  if (::close(fd.release()) != 0) {
    return fail("close");
  }
  if (::rename(tmpPath.c_str(), path.c_str()) != 0) {
    return fail("rename");
  }
  UniqueFd dir(::open(dirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() >= 0) {
    ::fsync(dir.get());  // best effort: some filesystems refuse fsync on directories
  }
  return {};
}

Result<std::string> readFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    Status s = errno == ENOENT ? Status::kNotFound : Status::kInternal;
    return Error(s, "cannot open " + path + ": " + std::strerror(errno));
  }
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sysError("cannot read", path);
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

VoidResult makeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) {
    return {};
  }
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (part.empty()) {
      continue;
    }
    if (::mkdir(part.c_str(), mode) != 0 && errno != EEXIST) {
      return sysError("cannot create directory", part);
    }
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(Status::kInternal, path + " exists and is not a directory");
  }
  return {};
}

}  // namespace edgelink
