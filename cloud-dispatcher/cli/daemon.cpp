// run (the daemon) and verify (the configuration).

#include <chrono>
#include <thread>

#include "cli/context.h"
#include "core/logging.h"
#include "core/version.h"
#include "ingest/ingest.h"
#include "observe/frps_plugin_server.h"
#include "observe/http_server.h"
#include "web/server.h"

namespace edgelink::dispatcher {
namespace {

int run(Context& c) {
  const Options& o = c.options;
  installStopHandlers();
  auto logger = log::get("dispatcher");
  logger->info("cloud-dispatcher {} starting: Kafka {} ({}), PostgreSQL {}", kVersion,
               o.kafkaBrokers, o.consumerConfig().describe(), maskConninfo(o.pgConninfo));
  // The endpoints listen before the daemon connects: /healthz answers while it waits, /readyz
  // says what it waits for. Declared before the ingestor, so it is stopped after it.
  Metrics metrics;
  Health health;
  std::unique_ptr<HttpServer> server;
  Observer observer;
  if (o.metricsAddress) {
    auto s = HttpServer::start(*o.metricsAddress, metrics, health);
    if (!s) {
      return c.fail(kExitFailed, s.error().describe());
    }
    server = std::move(*s);
    observer = Observer{&metrics, &health};
    logger->info(
        "metrics on http://{}/metrics, health on /healthz and /readyz",
        ListenAddress{o.metricsAddress->host, static_cast<uint16_t>(server->port())}.civetweb());
  }
  // frps's server plugin: frps asks it before accepting a login or a proxy. The path is not
  // logged (it may hold a shared secret).
  std::unique_ptr<FrpsPluginServer> plugin;
  if (o.frpsPluginAddress) {
    auto s = FrpsPluginServer::start(o, &metrics);
    if (!s) {
      return c.fail(kExitFailed, s.error().describe());
    }
    plugin = std::move(*s);
    logger->info(
        "frps plugin on http://{} (Login, NewProxy)",
        ListenAddress{o.frpsPluginAddress->host, static_cast<uint16_t>(plugin->port())}.civetweb());
  }
  // The web console, when http-listen is set (`web` serves it without the ingest).
  std::unique_ptr<web::WebServer> console;
  if (o.httpAddress) {
    auto s = web::WebServer::start(o);
    if (!s) {
      return c.fail(kExitFailed, s.error().describe());
    }
    console = std::move(*s);
    logger->info(
        "web console on {}://{}/", o.httpTlsCertificate.empty() ? "http" : "https",
        ListenAddress{o.httpAddress->host, static_cast<uint16_t>(console->port())}.civetweb());
  }
  Ingestor ingestor(o, c.clock, observer);
  if (auto r = ingestor.start(); !r) {
    const Error& e = r.error();
    if (e.status == Status::kConflict || e.status == Status::kUnavailable || !e.field.empty()) {
      return c.fail(kExitDatabase, e.describe());
    }
    return c.fail(kExitKafka, e.describe());
  }
  ingestor.run(gStop);
  logger->info("stopped");
  return kExitOk;
}

int verify(Context& c) {
  // validate() already ran (cliMain refuses an invalid configuration with exit code 2).
  const Options& o = c.options;
  Record r;
  r.push_back(stringField("kafka_brokers", o.kafkaBrokers));
  if (!o.kafkaCluster.empty() || !o.clusterBootstraps.empty()) {
    std::string clusters = o.clusters().known();
    for (const auto& [name, bootstrap] : o.clusterBootstraps) {
      clusters += "; " + name + " = " + bootstrap;
    }
    r.push_back(stringField("kafka_clusters", clusters));
  }
  r.push_back(stringField("kafka", o.consumerConfig().describe()));
  r.push_back(stringField("topic_regex", o.effectiveTopicRegex()));
  r.push_back(stringField("consumer_group", o.consumerGroup));
  r.push_back(stringField("postgresql", maskConninfo(o.pgConninfo)));
  r.push_back(
      stringField("port_pool", std::to_string(o.pool.first) + "-" + std::to_string(o.pool.last)));
  r.push_back(stringField("frps_host", o.frpsHost));
  r.push_back(numberField("request_deadline_seconds", o.requestDeadlineSeconds));
  r.push_back(numberField("offline_after_seconds", o.offlineAfterSeconds));
  r.push_back(stringField("metrics_listen", o.metricsAddress ? o.metricsAddress->civetweb() : ""));
  r.push_back(stringField("frps_plugin_listen",
                          o.frpsPluginAddress ? o.frpsPluginAddress->civetweb() : ""));
  r.push_back(stringField("http_listen", o.httpAddress ? o.httpAddress->civetweb() : ""));
  c.showOne(r, "configuration OK\n" + renderDetail(r));
  return kExitOk;
}

/// `web`: the console alone (another process ingests).
int serveWeb(Context& c) {
  const Options& o = c.options;
  if (!o.httpAddress) {
    return c.fail(kExitUsage, "http-listen: required by `web` (ADDRESS:PORT to serve on)");
  }
  installStopHandlers();
  auto logger = log::get("dispatcher");
  int checked = c.withDatabase([](pg::Connection&) { return kExitOk; });
  if (checked != kExitOk) {
    return checked;
  }
  auto s = web::WebServer::start(o);
  if (!s) {
    return c.fail(kExitFailed, s.error().describe());
  }
  logger->info("cloud-dispatcher {}: web console on {}://{}/", kVersion,
               o.httpTlsCertificate.empty() ? "http" : "https",
               ListenAddress{o.httpAddress->host, static_cast<uint16_t>((*s)->port())}.civetweb());
  while (!gStop) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  logger->info("stopped");
  return kExitOk;
}

}  // namespace

void addDaemonCommands(Commands& cmds) {
  Context& c = cmds.context();
  cmds.add("run", "Run the daemon: consume every edge topic into PostgreSQL",
           "cloud-dispatcher --config /etc/edgelink/cloud-dispatcher.conf run",
           [&c] { return run(c); });
  cmds.add("verify", "Check the configuration and print it",
           "CLOUD_DISPATCHER_CONFIG=/etc/edgelink/cloud-dispatcher.conf cloud-dispatcher verify",
           [&c] { return verify(c); });
  cmds.add("web", "Serve the web console and its API /api/v1 on http-listen (no ingest)",
           "cloud-dispatcher --config /etc/edgelink/cloud-dispatcher.conf --http-listen "
           "127.0.0.1:8080 web",
           [&c] { return serveWeb(c); });
}

}  // namespace edgelink::dispatcher
