#pragma once

// Kafka ACLs through the admin API (CreateAcls, DescribeAcls, DeleteAcls): the bindings
// `edges add` grants a board's principal on its own topic, and removes again.

#include <string>
#include <vector>

#include "core/result.h"
#include "kafka/config.h"

namespace edgelink::kafka {

enum class AclResource { kTopic, kGroup, kCluster };
enum class AclPattern { kLiteral, kPrefixed };
enum class AclOperation { kAll, kRead, kWrite, kCreate, kDelete, kAlter, kDescribe };

/// One ACL: `principal` ("User:board-0042") may (or, !allow, may not) do `operation` on the
/// resource from `host` ("*": any).
struct AclBinding {
  AclResource resource = AclResource::kTopic;
  std::string name;
  AclPattern pattern = AclPattern::kLiteral;
  std::string principal;
  AclOperation operation = AclOperation::kRead;
  bool allow = true;
  std::string host = "*";

  /// "ALLOW User:board-0042 READ on TOPIC edge.board-0042 (LITERAL) from *".
  std::string describe() const;
  bool operator==(const AclBinding& o) const;
  bool operator!=(const AclBinding& o) const { return !(*this == o); }
};

/// True for the error of an ACL request to a cluster without an authorizer (SECURITY_DISABLED).
bool isNoAuthorizer(const Error& e);

/// Creates the bindings (existing ones are kept: creating one twice is no error). The outer
/// error is a request that failed as a whole; the inner ones are per binding, in order, each
/// naming its ACL (kForbidden when this client may not alter ACLs, isNoAuthorizer() when
/// the cluster has none).
Result<std::vector<VoidResult>> createAcls(const Config& config,
                                           const std::vector<AclBinding>& acls, int timeoutMs);

/// Deletes exactly these bindings (each is a filter matching itself); returns how many ACLs the
/// broker deleted in all (0 when none existed). The first per-binding failure is the error.
Result<size_t> deleteAcls(const Config& config, const std::vector<AclBinding>& acls, int timeoutMs);

/// Every ACL on this resource (name and pattern matched exactly), for any principal.
Result<std::vector<AclBinding>> describeAcls(const Config& config, AclResource resource,
                                             const std::string& name, AclPattern pattern,
                                             int timeoutMs);

}  // namespace edgelink::kafka
