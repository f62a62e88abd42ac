#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "core/result.h"
#include "envelope/envelope.h"

namespace edgelink::envelope {

enum class FrpAction { kStart, kStop };

/// How a start exposes its services: tcp (a public remote port on frps per service) or stcp
/// (no public port: frps relays to visitors that present the session's secret).
enum class FrpMode { kTcp, kStcp };

/// A start/stop frp command, read from either request form:
/// - legacy `change_frp_client_config` (ports per fixed field, `auto_stop_service_in`, actions);
/// - canonical `frp_start` ({"services": {name: port}, "auto_stop_seconds"}) / `frp_stop`;
///   in stcp mode ({"mode": "stcp", "secret_key": "...", "services": [name, ...]}).
struct FrpCommand {
  FrpAction action = FrpAction::kStart;
  FrpMode mode = FrpMode::kTcp;
  std::map<std::string, uint16_t> services;  ///< service name -> remote port (0 in stcp mode)
  std::optional<int64_t> autoStopSeconds;    ///< absent: the agent's default
  std::string secretKey;                     ///< stcp only; a secret: never logged
};

/// The shortest and longest stcp secret_key a request may carry (base64url characters; the
/// dispatcher sends 43: 32 random bytes).
inline constexpr size_t kMinSecretKeyLength = 22;
inline constexpr size_t kMaxSecretKeyLength = 128;
/// What the dispatcher stores in place of an stcp start's secret_key (a well-formed value, so
/// the stored body still reads as a command).
inline constexpr const char* kRedactedSecretKey = "redacted-by-the-dispatcher";

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
