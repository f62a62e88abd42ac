#include "remote_config_file.h"

#include "core/atomic_file.h"
#include "state.h"

namespace edgelink::agent {

LoadedRemoteConfig loadRemoteConfig(const std::string& path, int64_t nowMs) {
  LoadedRemoteConfig out;
  auto text = readFile(path);
  if (!text && text.error().status == Status::kNotFound) {
    return out;
  }
  std::string what;
  if (text) {
    auto parsed = remoteConfigFromJson(*text);
    if (parsed) {
      out.remote = std::move(*parsed);
      return out;
    }
    what = "is damaged (" + parsed.error().message + ")";
  } else {
    what = "cannot be read (" + text.error().describe() + ")";
  }
  out.warning = "remote config file " + path + " " + what + "; " + setAside(path, nowMs) +
                "; running with the board's own config";
  return out;
}

VoidResult saveRemoteConfig(const std::string& path, const RemoteConfig& remote) {
  if (auto r = writeFileAtomic(path, remoteConfigToJson(remote), 0600); !r) {
    return Error(r.error().status, "remote config: " + r.error().message);
  }
  return {};
}

}  // namespace edgelink::agent
