#include "shell/action_runner.h"

namespace edgelink::agent {

namespace {

constexpr size_t kCheckLines = 3;

}  // namespace

void ActionRunner::run(Actions actions) {
  for (const Action& a : actions) {
    if (auto seen = perform(a); seen && feed_) {
      run(feed_(std::move(*seen)));
    }
  }
}

std::optional<Outcome> ActionRunner::perform(const Action& a) {
  if (const auto* send = std::get_if<action::Send>(&a)) {
    if (auto r = sink_.produce(send->value, send->opaque); !r) {
      return outcome::SendRefused{send->opaque, r.error().describe()};
    }
    return std::nullopt;
  }
  if (const auto* persist = std::get_if<action::PersistState>(&a)) {
    VoidResult written = hooks_.persist ? hooks_.persist() : VoidResult{};
    if (persist->confirm) {
      return outcome::StatePersisted{std::move(written)};
    }
    return std::nullopt;
  }
  if (const auto* status = std::get_if<action::SetStatus>(&a)) {
    if (hooks_.status) {
      hooks_.status(status->text);
    }
    return std::nullopt;
  }
  if (const auto* apply = std::get_if<action::ApplyConfig>(&a)) {
    if (hooks_.applyConfig) {
      hooks_.applyConfig(*apply);
    }
    return std::nullopt;
  }
  if (const auto* move = std::get_if<action::MoveCluster>(&a)) {
    if (hooks_.moveCluster) {
      hooks_.moveCluster(*move);
    }
    return std::nullopt;
  }
  if (std::holds_alternative<action::SampleCpu>(a)) {
    return outcome::CpuSampled{probe_.cpuSample()};
  }
  if (const auto* facts = std::get_if<action::ReadSystemFacts>(&a)) {
    return outcome::SystemFactsRead{probe_.facts(facts->diskPaths)};
  }
  return performFrpc(a);
}

std::optional<Outcome> ActionRunner::performFrpc(const Action& a) {
  if (const auto* write = std::get_if<action::WriteFrpcConfig>(&a)) {
    return outcome::FrpcConfigWritten{frpc_.writeConfig(write->session)};
  }
  if (std::holds_alternative<action::StartFrpc>(a)) {
    if (auto r = frpc_.start(); !r) {
      return outcome::FrpcStarted{r.error()};
    }
    return outcome::FrpcStarted{frpc_.record()};
  }
  if (std::holds_alternative<action::CheckFrpc>(a)) {
    frpc_.serveOutput();
    StartProbe probe;
    probe.exited = frpc_.exited();
    if (!probe.exited) {
      probe.statuses = frpc_.proxyStatus();
    }
    probe.output = frpc_.lastLines(kCheckLines);
    return outcome::FrpcChecked{std::move(probe)};
  }
  if (std::holds_alternative<action::QueryProxyStatus>(a)) {
    return outcome::ProxyStatusRead{frpc_.proxyStatus()};
  }
  if (std::holds_alternative<action::WatchFrpcExit>(a)) {
    return outcome::FrpcExitSeen{frpc_.exited()};
  }
  if (const auto* stop = std::get_if<action::StopFrpc>(&a)) {
    return outcome::FrpcStopped{stop->exited ? frpc_.reap(stop->lines) : frpc_.stop(stop->lines)};
  }
  return std::nullopt;
}

}  // namespace edgelink::agent
