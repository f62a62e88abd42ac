#include "config/secrets.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

namespace edgelink::config {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// The flag's value from "--flag value" or "--flag=value" at argv[i]; nullptr otherwise.
const char* flagValue(int argc, const char* const* argv, int i, const std::string& flag) {
  std::string_view arg = argv[i];
  if (arg == flag) {
    return i + 1 < argc ? argv[i + 1] : nullptr;
  }
  if (arg.size() > flag.size() && arg.compare(0, flag.size(), flag) == 0 &&
      arg[flag.size()] == '=') {
    return argv[i] + flag.size() + 1;
  }
  return nullptr;
}

}  // namespace

bool isSecretProperty(std::string_view key) {
  std::string k = lower(key);
  for (const char* needle : {"password", "passwd", "secret", "jaas", "credential"}) {
    if (k.find(needle) != std::string::npos) {
      return true;
    }
  }
  return k == "ssl.key.pem" || k == "ssl_key" || k == "sslpassword";
}

bool conninfoHasPassword(std::string_view conninfo) {
  std::string c = lower(conninfo);
  if (c.rfind("postgres://", 0) == 0 || c.rfind("postgresql://", 0) == 0) {
    // postgresql://user:password@host/...: a ':' in the user info before '@'
    auto start = c.find("://") + 3;
    auto at = c.find('@', start);
    auto slash = c.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash) &&
        c.find(':', start) < at) {
      return true;
    }
    return c.find("password=") != std::string::npos;
  }
  // key=value words: "password" as a key (spaces around '=' are allowed by libpq).
  for (size_t p = c.find("password"); p != std::string::npos; p = c.find("password", p + 1)) {
    bool wordStart = p == 0 || c[p - 1] == ' ' || c[p - 1] == '\t';
    size_t q = p + 8;
    while (q < c.size() && (c[q] == ' ' || c[q] == '\t')) {
      ++q;
    }
    if (wordStart && q < c.size() && c[q] == '=') {
      return true;
    }
  }
  return false;
}

Problems secretsOnCommandLine(int argc, const char* const* argv,
                              const std::vector<std::string>& propertyFlags,
                              const std::vector<std::string>& conninfoFlags) {
  Problems problems;
  for (int i = 1; i < argc; ++i) {
    for (const auto& flag : propertyFlags) {
      const char* v = flagValue(argc, argv, i, flag);
      if (v == nullptr) {
        continue;
      }
      std::string_view kv = v;
      std::string key(kv.substr(0, kv.find('=')));
      if (isSecretProperty(key)) {
        problems.add(flag.substr(2), key +
                                         " on the command line is visible to every user in "
                                         "ps: put it in the config file (mode 0600 or 0640)");
      }
    }
    for (const auto& flag : conninfoFlags) {
      const char* v = flagValue(argc, argv, i, flag);
      if (v != nullptr && conninfoHasPassword(v)) {
        problems.add(flag.substr(2),
                     "a password on the command line is visible to every user in ps: use the "
                     "config file (mode 0600 or 0640), a ~/.pgpass or passfile=, or PGPASSWORD "
                     "from a systemd credential");
      }
    }
  }
  return problems;
}

Problems configFileExposesSecrets(const std::string& path, const std::vector<std::string>& holds) {
  Problems problems;
  if (path.empty() || holds.empty()) {
    return problems;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 007) == 0) {
    return problems;
  }
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  std::string what;
  for (const auto& h : holds) {
    what += (what.empty() ? "" : ", ") + h;
  }
  problems.add("config", path + " holds secrets (" + what + ") and is mode " + mode +
                             ": others may read it (chmod 640 or 600 " + path + ")");
  return problems;
}

}  // namespace edgelink::config
