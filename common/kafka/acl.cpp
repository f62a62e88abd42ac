#include "kafka/acl.h"

#include <memory>
#include <optional>
#include <utility>

#include "kafka/client.h"

namespace edgelink::kafka {

namespace {

struct AclDeleter {
  void operator()(rd_kafka_AclBinding_t* a) const { rd_kafka_AclBinding_destroy(a); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* o) const { rd_kafka_AdminOptions_destroy(o); }
};
using AclPtr = std::unique_ptr<rd_kafka_AclBinding_t, AclDeleter>;
using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;

rd_kafka_ResourceType_t toRd(AclResource r) {
  switch (r) {
    case AclResource::kTopic:
      return RD_KAFKA_RESOURCE_TOPIC;
    case AclResource::kGroup:
      return RD_KAFKA_RESOURCE_GROUP;
    case AclResource::kCluster:
      return RD_KAFKA_RESOURCE_BROKER;  // Kafka's CLUSTER resource type (4)
  }
  return RD_KAFKA_RESOURCE_UNKNOWN;
}

rd_kafka_ResourcePatternType_t toRd(AclPattern p) {
  return p == AclPattern::kPrefixed ? RD_KAFKA_RESOURCE_PATTERN_PREFIXED
                                    : RD_KAFKA_RESOURCE_PATTERN_LITERAL;
}

constexpr std::pair<AclOperation, rd_kafka_AclOperation_t> kOperations[] = {
    {AclOperation::kAll, RD_KAFKA_ACL_OPERATION_ALL},
    {AclOperation::kRead, RD_KAFKA_ACL_OPERATION_READ},
    {AclOperation::kWrite, RD_KAFKA_ACL_OPERATION_WRITE},
    {AclOperation::kCreate, RD_KAFKA_ACL_OPERATION_CREATE},
    {AclOperation::kDelete, RD_KAFKA_ACL_OPERATION_DELETE},
    {AclOperation::kAlter, RD_KAFKA_ACL_OPERATION_ALTER},
    {AclOperation::kDescribe, RD_KAFKA_ACL_OPERATION_DESCRIBE}};

rd_kafka_AclOperation_t toRd(AclOperation op) {
  for (const auto& [ours, rd] : kOperations) {
    if (ours == op) {
      return rd;
    }
  }
  return RD_KAFKA_ACL_OPERATION_UNKNOWN;
}

const char* resourceName(AclResource r) {
  return r == AclResource::kTopic ? "TOPIC" : r == AclResource::kGroup ? "GROUP" : "CLUSTER";
}

/// A binding as librdkafka returned it; nullopt for kinds EdgeLink never makes.
std::optional<AclBinding> fromRd(const rd_kafka_AclBinding_t* a) {
  AclBinding b;
  switch (rd_kafka_AclBinding_restype(a)) {
    case RD_KAFKA_RESOURCE_TOPIC:
      b.resource = AclResource::kTopic;
      break;
    case RD_KAFKA_RESOURCE_GROUP:
      b.resource = AclResource::kGroup;
      break;
    case RD_KAFKA_RESOURCE_BROKER:
      b.resource = AclResource::kCluster;
      break;
    default:
      return std::nullopt;
  }
  const auto pattern = rd_kafka_AclBinding_resource_pattern_type(a);
  if (pattern != RD_KAFKA_RESOURCE_PATTERN_LITERAL &&
      pattern != RD_KAFKA_RESOURCE_PATTERN_PREFIXED) {
    return std::nullopt;
  }
  b.pattern =
      pattern == RD_KAFKA_RESOURCE_PATTERN_PREFIXED ? AclPattern::kPrefixed : AclPattern::kLiteral;
  bool known = false;
  for (const auto& [ours, rd] : kOperations) {
    if (rd == rd_kafka_AclBinding_operation(a)) {
      b.operation = ours;
      known = true;
    }
  }
  if (!known) {
    return std::nullopt;
  }
  b.name = rd_kafka_AclBinding_name(a);
  b.principal = rd_kafka_AclBinding_principal(a);
  b.host = rd_kafka_AclBinding_host(a);
  b.allow = rd_kafka_AclBinding_permission_type(a) == RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW;
  return b;
}

Result<AclPtr> toRd(const AclBinding& b, bool filter) {
  char err[512] = "";
  auto make = filter ? &rd_kafka_AclBindingFilter_new : &rd_kafka_AclBinding_new;
  AclPtr a(make(toRd(b.resource), b.name.c_str(), toRd(b.pattern), b.principal.c_str(),
                b.host.c_str(), toRd(b.operation),
                b.allow ? RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW : RD_KAFKA_ACL_PERMISSION_TYPE_DENY,
                err, sizeof err));
  if (!a) {
    return Error(Status::kBadRequest, "ACL " + b.describe() + ": " + err);
  }
  return a;
}

/// An error of an ACL request; a cluster without an authorizer is kBadRequest (isNoAuthorizer).
Error aclCodeError(rd_kafka_resp_err_t code, const std::string& what) {
  if (code == RD_KAFKA_RESP_ERR_SECURITY_DISABLED) {
    return Error(Status::kBadRequest, what + ": the cluster has no authorizer (SECURITY_DISABLED)");
  }
  return toError(code, what);
}

/// An error from a per-ACL rd_kafka_error_t, naming `what`.
Error aclError(const rd_kafka_error_t* e, const std::string& what) {
  Error out = aclCodeError(rd_kafka_error_code(e), what);
  if (const char* s = rd_kafka_error_string(e); s != nullptr && *s != '\0') {
    out.message += ": " + std::string(s);
  }
  return out;
}

/// A client for one admin request and its answer (the handle outlives the event).
struct AdminCall {
  HandlePtr rk;
  QueuePtr queue;
  AdminOptionsPtr options;
  EventPtr event;

  static Result<AdminCall> open(const Config& config, rd_kafka_admin_op_t op, int timeoutMs) {
    auto conf = config.build();
    if (!conf) {
      return conf.error();
    }
    auto rk = newHandle(RD_KAFKA_PRODUCER, std::move(*conf));
    if (!rk) {
      return rk.error();
    }
    AdminCall c;
    c.rk = std::move(*rk);
    c.queue.reset(rd_kafka_queue_new(c.rk.get()));
    c.options.reset(rd_kafka_AdminOptions_new(c.rk.get(), op));
    char err[512];
    rd_kafka_AdminOptions_set_request_timeout(c.options.get(), timeoutMs, err, sizeof err);
    return c;
  }
  /// Waits for the answer; an error when there is none or it failed as a whole.
  VoidResult wait(int timeoutMs, const std::string& what) {
    event.reset(rd_kafka_queue_poll(queue.get(), timeoutMs + 2000));
    if (!event) {
      return Error(Status::kTimeout,
                   what + " got no answer within " + std::to_string(timeoutMs) + " ms");
    }
    if (auto e = rd_kafka_event_error(event.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Error out = aclCodeError(e, what);
      if (const char* s = rd_kafka_event_error_string(event.get()); s != nullptr) {
        out.message += ": " + std::string(s);
      }
      return out;
    }
    return {};
  }
};

std::string listed(const std::vector<AclBinding>& acls) {
  return acls.size() == 1 ? acls.front().describe() : std::to_string(acls.size()) + " ACLs";
}

}  // namespace

bool isNoAuthorizer(const Error& e) {
  return e.status == Status::kBadRequest &&
         e.message.find("(SECURITY_DISABLED)") != std::string::npos;
}

std::string AclBinding::describe() const {
  static const char* ops[] = {"ALL", "READ", "WRITE", "CREATE", "DELETE", "ALTER", "DESCRIBE"};
  return std::string(allow ? "ALLOW " : "DENY ") + principal + " " +
         ops[static_cast<int>(operation)] + " on " + resourceName(resource) + " " + name + " (" +
         (pattern == AclPattern::kPrefixed ? "PREFIXED" : "LITERAL") + ") from " + host;
}

bool AclBinding::operator==(const AclBinding& o) const {
  return resource == o.resource && name == o.name && pattern == o.pattern &&
         principal == o.principal && operation == o.operation && allow == o.allow && host == o.host;
}

Result<std::vector<VoidResult>> createAcls(const Config& config,
                                           const std::vector<AclBinding>& acls, int timeoutMs) {
  std::vector<AclPtr> owned;
  std::vector<rd_kafka_AclBinding_t*> raw;
  for (const auto& b : acls) {
    auto a = toRd(b, false);
    if (!a) {
      return a.error();
    }
    raw.push_back(a->get());
    owned.push_back(std::move(*a));
  }
  if (raw.empty()) {
    return std::vector<VoidResult>{};
  }
  auto call = AdminCall::open(config, RD_KAFKA_ADMIN_OP_CREATEACLS, timeoutMs);
  if (!call) {
    return call.error();
  }
  rd_kafka_CreateAcls(call->rk.get(), raw.data(), raw.size(), call->options.get(),
                      call->queue.get());
  const std::string what = "CreateAcls for " + listed(acls);
  if (auto r = call->wait(timeoutMs, what); !r) {
    return r.error();
  }
  size_t n = 0;
  const rd_kafka_acl_result_t** results =
      rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(call->event.get()), &n);
  std::vector<VoidResult> out;
  for (size_t i = 0; i < acls.size(); ++i) {
    if (i >= n) {
      out.emplace_back(
          Error(Status::kInternal, "CreateAcls gave no result for " + acls[i].describe()));
    } else if (const rd_kafka_error_t* e = rd_kafka_acl_result_error(results[i]); e != nullptr) {
      out.emplace_back(aclError(e, "CreateAcls for " + acls[i].describe()));
    } else {
      out.emplace_back(VoidResult{});
    }
  }
  return out;
}

Result<size_t> deleteAcls(const Config& config, const std::vector<AclBinding>& acls,
                          int timeoutMs) {
  std::vector<AclPtr> owned;
  std::vector<rd_kafka_AclBindingFilter_t*> raw;
  for (const auto& b : acls) {
    auto a = toRd(b, true);
    if (!a) {
      return a.error();
    }
    raw.push_back(a->get());
    owned.push_back(std::move(*a));
  }
  if (raw.empty()) {
    return size_t{0};
  }
  auto call = AdminCall::open(config, RD_KAFKA_ADMIN_OP_DELETEACLS, timeoutMs);
  if (!call) {
    return call.error();
  }
  rd_kafka_DeleteAcls(call->rk.get(), raw.data(), raw.size(), call->options.get(),
                      call->queue.get());
  if (auto r = call->wait(timeoutMs, "DeleteAcls for " + listed(acls)); !r) {
    return r.error();
  }
  size_t n = 0;
  const rd_kafka_DeleteAcls_result_response_t** responses =
      rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(call->event.get()), &n);
  size_t deleted = 0;
  for (size_t i = 0; i < n; ++i) {
    if (const rd_kafka_error_t* e = rd_kafka_DeleteAcls_result_response_error(responses[i]);
        e != nullptr) {
      return aclError(e, "DeleteAcls for " + (i < acls.size() ? acls[i].describe() : listed(acls)));
    }
    size_t matching = 0;
    (void)rd_kafka_DeleteAcls_result_response_matching_acls(responses[i], &matching);
    deleted += matching;
  }
  return deleted;
}

Result<std::vector<AclBinding>> describeAcls(const Config& config, AclResource resource,
                                             const std::string& name, AclPattern pattern,
                                             int timeoutMs) {
  char err[512] = "";
  AclPtr filter(rd_kafka_AclBindingFilter_new(toRd(resource), name.c_str(), toRd(pattern), nullptr,
                                              nullptr, RD_KAFKA_ACL_OPERATION_ANY,
                                              RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err));
  const std::string what = std::string("DescribeAcls for ") + resourceName(resource) + " " + name;
  if (!filter) {
    return Error(Status::kBadRequest, what + ": " + err);
  }
  auto call = AdminCall::open(config, RD_KAFKA_ADMIN_OP_DESCRIBEACLS, timeoutMs);
  if (!call) {
    return call.error();
  }
  rd_kafka_DescribeAcls(call->rk.get(), filter.get(), call->options.get(), call->queue.get());
  if (auto r = call->wait(timeoutMs, what); !r) {
    return r.error();
  }
  size_t n = 0;
  const rd_kafka_AclBinding_t** found =
      rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(call->event.get()), &n);
  std::vector<AclBinding> out;
  for (size_t i = 0; i < n; ++i) {
    if (auto b = fromRd(found[i])) {
      out.push_back(std::move(*b));
    }
  }
  return out;
}

}  // namespace edgelink::kafka
