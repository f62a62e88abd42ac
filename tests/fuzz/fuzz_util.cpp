#include "fuzz_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "config/cli_config.h"
#include "core/logging.h"

namespace edgelink::fuzz {

std::pair<std::string_view, std::string_view> splitAt(std::string_view input, char separator) {
  const size_t at = input.find(separator);
  if (at == std::string_view::npos) {
    return {input, {}};
  }
  return {input.substr(0, at), input.substr(at + 1)};
}

const std::string& scratchDir() {
  static const std::string dir = [] {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/edgelink-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("fuzz: mkdtemp");
      std::abort();
    }
    return pattern;
  }();
  return dir;
}

std::string writeScratch(const std::string& name, std::string_view text, unsigned mode) {
  const std::string path = scratchDir() + "/" + name;
  ::unlink(path.c_str());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    std::perror(("fuzz: " + path).c_str());
    std::abort();
  }
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      std::perror(("fuzz: " + path).c_str());
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
  ::fchmod(fd, mode);
  ::close(fd);
  return path;
}

bool parseConfigText(CLI::App& app, std::string_view text, const char* program) {
  const std::string path = writeScratch("config.conf", text);
  const char* argv[] = {program, "--config", path.c_str()};
  const config::ParseOutcome outcome = config::parse(app, 3, argv);
  if (!outcome.proceed && outcome.message.empty()) {
    std::fprintf(stderr, "a refused config file must say why\n");
    std::abort();
  }
  return outcome.proceed;
}

void silenceLogs() {
  (void)log::init("off");
}

}  // namespace edgelink::fuzz
