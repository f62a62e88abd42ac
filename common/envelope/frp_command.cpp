#include "envelope/frp_command.h"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "envelope/types.h"
#include "jsonschema/json_util.h"

namespace edgelink::envelope {
namespace {

VoidResult addService(FrpCommand& cmd, const std::string& name, int64_t port,
                      const std::string& field) {
  for (const auto& [other, p] : cmd.services) {
    if (p == port) {
      return Error(Status::kBadRequest,
                   "port " + std::to_string(port) + " is given to both " + other + " and " + name,
                   field);
    }
  }
  cmd.services[name] = static_cast<uint16_t>(port);
  return {};
}

/// `mode` and `secret_key` of a canonical start: stcp needs a secret, tcp refuses one.
VoidResult readMode(const rapidjson::Value& body, FrpCommand& cmd) {
  const char* mode = json::getString(body, "mode");
  if (mode != nullptr && std::string(mode) == "stcp") {
    cmd.mode = FrpMode::kStcp;
  } else if (mode != nullptr && std::string(mode) != "tcp") {
    return Error(Status::kBadRequest, "expected tcp or stcp", "request.body.mode");
  }
  const char* secret = json::getString(body, "secret_key");
  if (cmd.mode == FrpMode::kTcp) {
    if (secret != nullptr) {
      return Error(Status::kBadRequest, "a secret_key is for mode stcp only",
                   "request.body.secret_key");
    }
    return {};
  }
  if (secret == nullptr) {
    return Error(Status::kBadRequest, "mode stcp needs a secret_key", "request.body.secret_key");
  }
  cmd.secretKey = secret;
  bool ok =
      cmd.secretKey.size() >= kMinSecretKeyLength && cmd.secretKey.size() <= kMaxSecretKeyLength;
  for (char c : cmd.secretKey) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
  if (!ok) {
    // Never quotes the secret.
    return Error(Status::kBadRequest,
                 "expected " + std::to_string(kMinSecretKeyLength) + "-" +
                     std::to_string(kMaxSecretKeyLength) + " base64url characters",
                 "request.body.secret_key");
  }
  return {};
}

Result<FrpCommand> readFrpStart(const rapidjson::Value& body) {
  FrpCommand cmd;
  if (auto m = readMode(body, cmd); !m) {
    return m.error();
  }
  const auto* services = json::member(body, "services");
  if (cmd.mode == FrpMode::kStcp) {
    if (services == nullptr || !services->IsArray()) {
      return Error(Status::kBadRequest, "mode stcp needs a list of service names",
                   "request.body.services");
    }
    for (const auto& v : services->GetArray()) {
      if (!v.IsString() || !cmd.services.emplace(v.GetString(), 0).second) {
        return Error(Status::kBadRequest, "expected distinct service names",
                     "request.body.services");
      }
    }
  } else {
    if (services == nullptr || !services->IsObject()) {
      return Error(Status::kBadRequest, "required field missing", "request.body.services");
    }
    for (const auto& m : services->GetObject()) {
      std::string name = m.name.GetString();
      if (!m.value.IsInt64()) {
        return Error(Status::kBadRequest, "expected TCP port number 1-65535",
                     "request.body.services." + name);
      }
      auto r = addService(cmd, name, m.value.GetInt64(), "request.body.services." + name);
      if (!r) {
        return r.error();
      }
    }
  }
  if (const auto* a = json::member(body, "auto_stop_seconds")) {
    cmd.autoStopSeconds = readAutoStopSeconds(*a);
  }
  if (cmd.services.empty()) {
    return Error(Status::kBadRequest, "a start needs at least one service",
                 "request.body.services");
  }
  return cmd;
}

}  // namespace

std::optional<int64_t> readAutoStopSeconds(const rapidjson::Value& value) {
  if (value.IsInt64()) {
    const int64_t v = value.GetInt64();
    return v < 0 ? std::nullopt : std::optional<int64_t>(std::min(v, kMaxAutoStopSeconds));
  }
  if (value.IsUint64()) {
    return kMaxAutoStopSeconds;  // beyond int64
  }
  if (value.IsNumber()) {
    const double v = value.GetDouble();
    if (!(v >= 0)) {
      return std::nullopt;  // negative (or NaN, which JSON cannot carry)
    }
    if (v >= static_cast<double>(kMaxAutoStopSeconds)) {
      return kMaxAutoStopSeconds;
    }
    return static_cast<int64_t>(std::ceil(v));
  }
  return std::nullopt;
}

bool isFrpCommandType(const std::string& type) {
  return type == request_type::kChangeFrpClientConfig || type == request_type::kFrpStart ||
         type == request_type::kFrpStop;
}

Result<FrpCommand> readFrpCommand(const Envelope& request) {
  return readFrpCommand(request.type, request.body());
}

Result<FrpCommand> readFrpCommand(const std::string& type, const rapidjson::Value& body) {
  FrpCommand cmd;
  if (type == request_type::kFrpStop) {
    cmd.action = FrpAction::kStop;
    return cmd;
  }
  if (type == request_type::kFrpStart) {
    return readFrpStart(body);
  }
  if (type != request_type::kChangeFrpClientConfig) {
    return Error(Status::kBadRequest, "not an frp start/stop request type: " + type,
                 "request.type");
  }
  const auto* actions = json::member(body, "actions");
  const char* name = nullptr;
  if (actions && actions->IsArray() && actions->Size() == 1 && (*actions)[0].IsObject()) {
    name = json::getString((*actions)[0], "name");
  }
  if (name == nullptr) {
    return Error(Status::kBadRequest,
                 std::string("expected [{\"name\": \"") + legacy::kActionStart + "\"}] or " +
                     legacy::kActionStop,
                 "request.body.actions");
  }
  if (std::string(name) == legacy::kActionStop) {
    cmd.action = FrpAction::kStop;
    return cmd;
  }
  std::string missing;
  for (const auto& f : legacy::kPortFields) {
    if (const auto* p = json::member(body, f.field); p && p->IsInt64()) {
      auto r = addService(cmd, f.service, p->GetInt64(), std::string("request.body.") + f.field);
      if (!r) {
        return r.error();
      }
    }
    missing += std::string(missing.empty() ? "" : ", ") + f.field;
  }
  if (cmd.services.empty()) {
    return Error(Status::kBadRequest, "a start needs at least one of " + missing, "request.body");
  }
  if (const auto* a = json::member(body, legacy::kAutoStopField)) {
    cmd.autoStopSeconds = readAutoStopSeconds(*a);
  }
  return cmd;
}

VoidResult writeLegacyFrpBody(Envelope& request, const FrpCommand& command) {
  if (command.action == FrpAction::kStart && command.mode == FrpMode::kStcp) {
    return Error(Status::kBadRequest, "mode stcp has no legacy format (use frp_start)", "mode");
  }
  auto& alloc = request.allocator();
  request.body().SetObject();
  if (command.action == FrpAction::kStart) {
    for (const auto& [service, port] : command.services) {
      const char* field = nullptr;
      for (const auto& f : legacy::kPortFields) {
        if (service == f.service) {
          field = f.field;
        }
      }
      if (field == nullptr) {
        return Error(Status::kBadRequest,
                     "service '" + service +
                         "' has no field in the legacy format (ssh, fcc_web, camera_admin)",
                     "services");
      }
      request.set(field, static_cast<int64_t>(port));
    }
    if (command.autoStopSeconds) {
      request.set(legacy::kAutoStopField, *command.autoStopSeconds);
    }
  }
  rapidjson::Value action(rapidjson::kObjectType);
  action.AddMember(
      "name",
      json::str(command.action == FrpAction::kStart ? legacy::kActionStart : legacy::kActionStop,
                alloc),
      alloc);
  rapidjson::Value actions(rapidjson::kArrayType);
  actions.PushBack(action, alloc);
  request.set("actions", std::move(actions));
  return {};
}

void writeCanonicalFrpBody(Envelope& request, const FrpCommand& command) {
  auto& alloc = request.allocator();
  request.body().SetObject();
  if (command.action == FrpAction::kStop) {
    return;
  }
  if (command.mode == FrpMode::kStcp) {
    request.set("mode", "stcp");
    request.set("secret_key", command.secretKey);
    rapidjson::Value names(rapidjson::kArrayType);
    for (const auto& entry : command.services) {
      names.PushBack(json::str(entry.first, alloc), alloc);
    }
    request.set("services", std::move(names));
  } else {
    rapidjson::Value services(rapidjson::kObjectType);
    for (const auto& [service, port] : command.services) {
      services.AddMember(json::str(service, alloc), rapidjson::Value(static_cast<int>(port)),
                         alloc);
    }
    request.set("services", std::move(services));
  }
  if (command.autoStopSeconds) {
    request.set("auto_stop_seconds", *command.autoStopSeconds);
  }
}

}  // namespace edgelink::envelope
