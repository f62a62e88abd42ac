#include "render_frpc.h"

#include "decisions/request_policy.h"
#include "decisions/session.h"
#include "decisions/triage.h"
#include "envelope/types.h"
#include "frpc_config.h"

namespace edgelink::agent {

RenderOutcome renderForRequest(const AgentConfig& config, const std::string& requestBytes,
                               const Clock& clock, bool showSecrets) {
  envelope::Decoder decoder(
      envelope::Limits{static_cast<size_t>(config.options.maxMessageBytes), 32});
  Policy policy;
  policy.sender = config.options.sender;
  const int64_t now = clock.wallMs();
  TriageContext context(policy, decoder);
  context.nowMs = now;
  context.judgeTime = false;
  Triage t = triage(Inbound{requestBytes}, context);
  switch (t.verdict) {
    case Verdict::kAnswer:
      return RenderOutcome{false, envelope::encode(*t.response)};
    case Verdict::kAct:
      break;
    case Verdict::kIgnore:
      return RenderOutcome{false, t.reason};
    default:
      return RenderOutcome{false, "not a request the agent would answer: " + t.reason};
  }
  const auto& req = *t.request;
  if (!envelope::isFrpCommandType(req.type)) {
    return RenderOutcome{false, "request type " + req.type + " writes no frpc config"};
  }
  RequestAction action = decideRequest(req, config, policy, now);
  switch (action.kind) {
    case ActionKind::kAnswer:
      return RenderOutcome{false, envelope::encode(*action.response)};
    case ActionKind::kStop:
      return RenderOutcome{false, "a stop request writes no frpc config (it stops frpc)"};
    case ActionKind::kStart:
      break;
    default:
      return RenderOutcome{false, "request type " + req.type + " writes no frpc config"};
  }
  Session s = sessionFor(*action.plan, now, req.id);
  FrpcSettings settings = frpcSettings(config, "edge-agent", randomPassword(24));
  std::string masked;
  std::vector<ProxySpec> proxies = s.proxies();
  if (!showSecrets) {
    if (s.stcp()) {
      for (auto& p : proxies) {
        p.secretKey = kMaskedSecret;
      }
      masked = config.format == FrpcFormat::kToml ? "secretKey, " : "sk, ";
    }
    masked += config.format == FrpcFormat::kToml ? "webServer.password" : "admin_pwd";
    settings.adminPassword = kMaskedSecret;
    if (!settings.token.empty()) {
      settings.token = kMaskedSecret;
      masked = (config.format == FrpcFormat::kToml ? "auth.token" : "token") + (", " + masked);
    }
  }
  auto text = renderFrpcConfig(config.format, settings, proxies);
  if (!text) {
    return RenderOutcome{
        false, envelope::encode(errorResponse(req.id, req.type, policy.sender, now, text.error()))};
  }
  if (!masked.empty()) {
    *text = "# secrets masked (" + masked + "): render-frpc --show-secrets prints them\n" + *text;
  }
  return RenderOutcome{true, *text};
}

}  // namespace edgelink::agent
