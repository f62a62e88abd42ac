#include "harness/pg_cluster.h"

#include <dirent.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <stdexcept>

#include "core/atomic_file.h"
#include "core/subprocess.h"
#include "harness/test_util.h"

namespace edgelink::testing {
namespace {

bool isRoot() {
  return ::geteuid() == 0;
}

void chownToPostgres(const std::string& path) {
  if (!isRoot()) {
    return;
  }
  passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    throw std::runtime_error("running as root but there is no 'postgres' user to run the server");
  }
  if (::chown(path.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    throw std::runtime_error("cannot chown " + path + " to postgres");
  }
}

std::string makeTempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/edgelink-pg-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
  }
  return buf.data();
}

}  // namespace

std::string findPgBinDir() {
  if (const char* env = std::getenv("EDGELINK_PG_BIN"); env && *env) {
    return env;
  }
  std::string best;
  int bestVersion = -1;
  if (DIR* d = ::opendir("/usr/lib/postgresql")) {
    while (dirent* e = ::readdir(d)) {
      int v = std::atoi(e->d_name);
      std::string bin = std::string("/usr/lib/postgresql/") + e->d_name + "/bin";
      if (v > bestVersion && ::access((bin + "/initdb").c_str(), X_OK) == 0) {
        best = bin;
        bestVersion = v;
      }
    }
    ::closedir(d);
  }
  if (best.empty()) {
    throw std::runtime_error(
        "no PostgreSQL server found under /usr/lib/postgresql (run scripts/bootstrap)");
  }
  return best;
}

void PgCluster::runTool(const std::vector<std::string>& argv, const std::string& what) const {
  SpawnOptions opts;
  if (isRoot()) {
    opts.argv = {"runuser", "-u", "postgres", "--"};
  }
  opts.argv.insert(opts.argv.end(), argv.begin(), argv.end());
  opts.stdoutPath = dir_ + "/tools.log";
  opts.stderrPath = dir_ + "/tools.log";
  opts.dieWithParent = false;  // pg_ctl's server must outlive a fixture process
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error(what + ": " + p.error().describe());
  }
  int status = *p->waitFor(-1);
  if (status != 0) {
    throw std::runtime_error(what + " failed (" + describeWaitStatus(status) + "):\n" +
                             readText(dir_ + "/tools.log") + readText(dir_ + "/server.log"));
  }
}

std::unique_ptr<PgCluster> PgCluster::start(const std::string& dir) {
  std::unique_ptr<PgCluster> c(new PgCluster());
  c->binDir_ = findPgBinDir();
  if (dir.empty()) {
    c->dir_ = makeTempDir();
    c->ownsDir_ = true;
  } else {
    c->dir_ = dir;
    if (auto r = makeDirs(dir, 0700); !r) {
      throw std::runtime_error(r.error().describe());
    }
  }
  chownToPostgres(c->dir_);
  ::chmod(c->dir_.c_str(), 0700);
  c->port_ = freeTcpPort();
  c->runTool({c->binDir_ + "/initdb", "-D", c->dir_ + "/data", "-U", "postgres", "-A", "trust",
              "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"},
             "initdb");
  c->startAgain();
  return c;
}

void PgCluster::startAgain() {
  std::ostringstream o;
  o << "-p " << port_ << " -k " << dir_
    << " -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
    << " -c max_connections=300 -c shared_buffers=64MB";
  runTool({binDir_ + "/pg_ctl", "-D", dir_ + "/data", "-o", o.str(), "-l", dir_ + "/server.log",
           "-w", "-t", "60", "start"},
          "pg_ctl start");
  running_ = true;
}

void PgCluster::stop(bool immediate) {
  if (!running_) {
    return;
  }
  runTool({binDir_ + "/pg_ctl", "-D", dir_ + "/data", "-m", immediate ? "immediate" : "fast", "-w",
           "-t", "60", "stop"},
          "pg_ctl stop");
  running_ = false;
}

std::unique_ptr<PgCluster> PgCluster::attach(const std::string& envFile) {
  std::string text = readText(envFile);
  if (text.empty()) {
    return nullptr;
  }
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto eq = line.find('=');
    if (eq != std::string::npos) {
      kv[line.substr(0, eq)] = line.substr(eq + 1);
    }
  }
  std::unique_ptr<PgCluster> c(new PgCluster());
  c->dir_ = kv["PGCLUSTER_DIR"];
  c->binDir_ = kv["PGBIN"];
  c->port_ = static_cast<uint16_t>(std::atoi(kv["PGPORT"].c_str()));
  c->owned_ = false;
  c->running_ = true;
  try {
    pqxx::connection conn(c->conninfo());
  } catch (const std::exception&) {
    return nullptr;
  }
  return c;
}

PgCluster::~PgCluster() {
  if (!owned_) {
    return;
  }
  try {
    stop();
  } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): best effort at teardown
  }
  if (ownsDir_ && std::getenv("EDGELINK_KEEP_TEST_DIRS") == nullptr) {
    removeTree(dir_);
  }
}

std::string PgCluster::conninfo(const std::string& db) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + db +
         " connect_timeout=10";
}

std::string PgCluster::createDatabase(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  exec("CREATE DATABASE " + name);
  return conninfo(name);
}

void PgCluster::exec(const std::string& sql, const std::string& db) {
  pqxx::connection conn(conninfo(db));
  pqxx::nontransaction tx(conn);
  tx.exec(sql);
}

void PgCluster::writeEnvFile(const std::string& path) const {
  std::ostringstream o;
  o << "PGCLUSTER_DIR=" << dir_ << "\nPGBIN=" << binDir_ << "\nPGPORT=" << port_ << "\n";
  writeText(path, o.str());
}

PgCluster& sharedPg() {
  static std::unique_ptr<PgCluster> cluster = [] {
    if (const char* d = std::getenv("EDGELINK_TEST_FIXTURES"); d && *d) {
      if (auto attached = PgCluster::attach(std::string(d) + "/pg.env")) {
        return attached;
      }
    }
    return PgCluster::start();
  }();
  return *cluster;
}

}  // namespace edgelink::testing
