#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace edgelink::testing {

/// A throwaway PostgreSQL cluster (initdb into a temp dir, pg_ctl start on a free port,
/// listening on 127.0.0.1 only). As root, the server runs as the `postgres` user (initdb refuses
/// root). Durability settings are relaxed (fsync=off): tests survive server crashes, not power
/// cuts.
class PgCluster {
 public:
  /// Creates and starts a cluster under `dir` (created; empty: a fresh temp dir). Throws
  /// std::runtime_error with the server log on failure.
  static std::unique_ptr<PgCluster> start(const std::string& dir = "");
  /// Attaches to a cluster described by an env file written by writeEnvFile(); nullptr when the
  /// file is missing or the server does not answer. An attached cluster is not stopped by us.
  static std::unique_ptr<PgCluster> attach(const std::string& envFile);
  ~PgCluster();
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  /// libpq connection string for database `db`.
  std::string conninfo(const std::string& db = "postgres") const;
  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }

  /// Creates a fresh database with a unique name; returns its conninfo.
  std::string createDatabase(const std::string& prefix = "t");
  /// Runs one SQL statement on `db` (throws on error).
  void exec(const std::string& sql, const std::string& db = "postgres");

  /// Stops the server. `immediate` simulates a crash (no checkpoint; recovery at next start).
  void stop(bool immediate = false);
  /// Starts the stopped server again on the same port.
  void startAgain();
  bool running() const { return running_; }

  /// Records how to reach this cluster (for the ctest fixture).
  void writeEnvFile(const std::string& path) const;
  /// Leaves the server running when this object dies (the fixture's start step).
  void detach() { owned_ = false; }

 private:
  PgCluster() = default;
  void runTool(const std::vector<std::string>& argv, const std::string& what) const;

  std::string dir_;
  std::string binDir_;
  uint16_t port_ = 0;
  bool owned_ = true;
  bool ownsDir_ = false;
  bool running_ = false;
};

/// The cluster shared by this test process: the ctest fixture's ($EDGELINK_TEST_FIXTURES/pg.env)
/// when available, else one started on first use and stopped at exit.
PgCluster& sharedPg();

/// The directory holding initdb/pg_ctl: $EDGELINK_PG_BIN or the newest /usr/lib/postgresql/*/bin.
std::string findPgBinDir();

}  // namespace edgelink::testing
