#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"
#include "envelope/envelope.h"

namespace edgelink::envelope {

enum class FrpAction { kStart, kStop };

/// A start/stop frp command, read from either request form:
/// - legacy `change_frp_client_config` (ports per fixed field, `auto_stop_service_in`, actions);
/// - canonical `frp_start` ({"services": {name: port}, "auto_stop_seconds"}) / `frp_stop`.
struct FrpCommand {
  FrpAction action = FrpAction::kStart;
  std::map<std::string, uint16_t> services;  ///< service name -> remote port (starts only)
  std::optional<int64_t> autoStopSeconds;    ///< absent: the agent's default
};

/// The longest auto-stop a request can carry through: 365 days (also the most an agent's
/// auto-stop-max may be). A larger value, however large, is read as this (and then capped by the
/// agent's own maximum): never refused, never overflowing.
inline constexpr int64_t kMaxAutoStopSeconds = 31536000;

/// An auto-stop field's value as whole seconds: any non-negative JSON number, a fraction rounded
/// up, anything above kMaxAutoStopSeconds (a float, or beyond 64-bit integers) read as it.
/// nullopt for negative numbers and non-numbers (the schemas refuse those first).
std::optional<int64_t> readAutoStopSeconds(const rapidjson::Value& value);

/// True for change_frp_client_config, frp_start and frp_stop.
bool isFrpCommandType(const std::string& type);

/// Reads the command from a decoded request (whose body the schemas already checked).
/// 400 errors name the field: a start without ports, one port given to two services.
Result<FrpCommand> readFrpCommand(const Envelope& request);
/// The same from a request's type and body (e.g. a stored request: its type and its body as the
/// decoder normalised it).
Result<FrpCommand> readFrpCommand(const std::string& type, const rapidjson::Value& body);

/// Writes `command` into `request`'s body in the original design's legacy format (type must be
/// change_frp_client_config). Services other than ssh/fcc_web/camera_admin cannot be expressed
/// there: error 400 naming the service.
VoidResult writeLegacyFrpBody(Envelope& request, const FrpCommand& command);

/// Writes `command` into `request`'s body in the canonical frp_start/frp_stop format.
void writeCanonicalFrpBody(Envelope& request, const FrpCommand& command);

}  // namespace edgelink::envelope
