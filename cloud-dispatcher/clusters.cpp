#include "clusters.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "core/strings.h"

namespace edgelink::dispatcher {

bool isClusterName(const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::map<std::string, std::string> parseKafkaClusters(const std::vector<std::string>& entries,
                                                      const std::string& ownName,
                                                      const std::string& key,
                                                      config::Problems& problems) {
  std::map<std::string, std::string> out;
  std::set<std::string> repeated;
  for (const auto& entry : entries) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      problems.add(key, "'" + entry + "': expected NAME=BOOTSTRAP such as b=kafka-b1:9092");
      continue;
    }
    const std::string name(trim(std::string_view(entry).substr(0, eq)));
    const std::string bootstrap(trim(std::string_view(entry).substr(eq + 1)));
    bool ok = true;
    if (!isClusterName(name)) {
      problems.add(key, "'" + entry + "': the name must be 1-64 characters from A-Z a-z 0-9 . _ -");
      ok = false;
    }
    if (bootstrap.empty()) {
      problems.add(key, "'" + entry + "': empty bootstrap servers (host:port,...)");
      ok = false;
    }
    if (ok && !ownName.empty() && name == ownName) {
      continue;  // one list for every dispatcher of the deployment: its own is kafka-brokers
    }
    if (ok && out.count(name) > 0 && repeated.insert(name).second) {
      problems.add(key, "cluster " + name + " is given more than once");
    }
    if (ok) {
      out.emplace(name, bootstrap);
    }
  }
  return out;
}

Result<ClusterRoute> ClusterMap::resolve(const std::optional<std::string>& cluster) const {
  if (!cluster || cluster->empty() || *cluster == ownName_) {
    return ClusterRoute{ownName_, ownBrokers_, true};
  }
  if (auto it = others_.find(*cluster); it != others_.end()) {
    return ClusterRoute{it->first, it->second, false};
  }
  return Error(Status::kNotFound, "Kafka cluster " + *cluster +
                                      " is not one this dispatcher knows: add it to "
                                      "kafka-clusters (NAME=BOOTSTRAP); known: " +
                                      known());
}

Result<ClusterRoute> ClusterMap::named(const std::string& name, const std::string& what) const {
  if (!name.empty() && name == ownName_) {
    return ClusterRoute{ownName_, ownBrokers_, true};
  }
  if (auto it = others_.find(name); it != others_.end()) {
    return ClusterRoute{it->first, it->second, false};
  }
  return Error(Status::kBadRequest,
               what + ": no Kafka cluster '" + name +
                   "': expected this dispatcher's own (kafka-cluster) or one of kafka-clusters; "
                   "known: " +
                   known());
}

std::string ClusterMap::known() const {
  std::string out = ownName_.empty() ? std::string("(unnamed: set kafka-cluster)") : ownName_;
  out += " (this dispatcher)";
  for (const auto& [name, bootstrap] : others_) {
    out += ", " + name;
  }
  return out;
}

}  // namespace edgelink::dispatcher
