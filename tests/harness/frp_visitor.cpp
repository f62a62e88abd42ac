#include "harness/frp_visitor.h"

#include <dirent.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

namespace edgelink::testing {
namespace {

void openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = runCommand(argv);
  if (!r.ok()) {
    throw std::runtime_error("openssl " + args.front() + " failed: " + r.output);
  }
}

/// Socket inodes among `pid`'s descriptors.
std::set<std::string> socketInodes(int pid) {
  std::set<std::string> out;
  const std::string fdDir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(fdDir.c_str());
  if (d == nullptr) {
    return out;
  }
  while (dirent* e = ::readdir(d)) {
    char target[256];
    ssize_t n = ::readlink((fdDir + "/" + e->d_name).c_str(), target, sizeof target - 1);
    if (n > 0) {
      std::string t(target, static_cast<size_t>(n));
      if (t.rfind("socket:[", 0) == 0) {
        out.insert(t.substr(8, t.size() - 9));
      }
    }
  }
  ::closedir(d);
  return out;
}

}  // namespace

TestCa makeTestCa(const TempDir& dir, const std::string& prefix, const std::string& serverName) {
  TestCa ca;
  const std::string key = dir.file(prefix + "-ca.key");
  ca.caFile = dir.file(prefix + "-ca.pem");
  ca.server.keyFile = dir.file(prefix + "-server.key");
  ca.server.certFile = dir.file(prefix + "-server.pem");
  const std::string csr = dir.file(prefix + "-server.csr");
  const std::string ext = dir.file(prefix + "-server.ext");
  openssl({"req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", ca.caFile,
           "-days", "2", "-subj", "/CN=edgelink test CA " + prefix});
  openssl({"req", "-newkey", "rsa:2048", "-nodes", "-keyout", ca.server.keyFile, "-out", csr,
           "-subj", "/CN=" + serverName});
  writeText(ext, "subjectAltName = IP:127.0.0.1, DNS:localhost, DNS:" + serverName + "\n");
  openssl({"x509", "-req", "-in", csr, "-CA", ca.caFile, "-CAkey", key, "-CAcreateserial", "-out",
           ca.server.certFile, "-days", "2", "-extfile", ext});
  return ca;
}

std::set<uint16_t> listeningPorts(int pid) {
  std::set<uint16_t> out;
  const std::set<std::string> inodes = socketInodes(pid);
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(readText(table));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (state == "0A" && inodes.count(inode) != 0) {  // 0A: LISTEN
        out.insert(
            static_cast<uint16_t>(std::stoul(local.substr(local.rfind(':') + 1), nullptr, 16)));
      }
    }
  }
  return out;
}

FrpcProcess::FrpcProcess(const std::string& configPath) : logPath_(configPath + ".log") {
  SpawnOptions opts;
  opts.argv = {realFrpcPath(), "-c", configPath};
  opts.stdoutPath = logPath_;
  opts.stderrPath = logPath_;
  auto p = Subprocess::spawn(opts);
  if (!p) {
    throw std::runtime_error("frpc -c " + configPath + ": " + p.error().describe());
  }
  proc_ = std::move(*p);
}

FrpcProcess::~FrpcProcess() {
  if (proc_.valid()) {
    proc_.terminate(5000);
  }
}

bool FrpcProcess::running() {
  return proc_.valid() && !proc_.tryWait();
}

bool FrpcProcess::waitListening(uint16_t port, int timeoutMs) {
  return waitUntil([&] { return !running() || tcpAccepts(port); }, timeoutMs) && running();
}

}  // namespace edgelink::testing
