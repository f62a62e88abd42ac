#include "state.h"

#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/atomic_file.h"
#include "core/strings.h"
#include "envelope/json_util.h"

namespace edgelink::agent {
namespace {

constexpr int kStateVersion = 1;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using rapidjson::Value;

void writeId(Writer& w, const envelope::Id& id) {
  w.StartObject();
  w.Key("text");
  w.String(id.str().c_str(), static_cast<rapidjson::SizeType>(id.str().size()));
  w.Key("number");
  w.Bool(id.isNumber());
  w.EndObject();
}

void writeStr(Writer& w, const char* key, const std::string& value) {
  w.Key(key);
  w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
}

void writeInt(Writer& w, const char* key, int64_t value) {
  w.Key(key);
  w.Int64(value);
}

/// Strict readers: a missing or mistyped member is an error naming it.
class Reader {
 public:
  explicit Reader(std::string where) : where_(std::move(where)) {}
  const Value* get(const Value& obj, const char* key, bool required = true) {
    if (!obj.IsObject()) {
      fail(where_ + ": expected an object");
      return nullptr;
    }
    auto it = obj.FindMember(key);
    if (it == obj.MemberEnd()) {
      if (required) {
        fail(where_ + "." + key + ": missing");
      }
      return nullptr;
    }
    return &it->value;
  }
  std::string str(const Value& obj, const char* key) {
    const Value* v = get(obj, key);
    if (v && !v->IsString()) {
      fail(where_ + "." + key + ": expected a string");
      return {};
    }
    return v ? std::string(v->GetString(), v->GetStringLength()) : std::string();
  }
  int64_t num(const Value& obj, const char* key) {
    const Value* v = get(obj, key);
    if (v && !v->IsInt64()) {
      fail(where_ + "." + key + ": expected an integer");
      return 0;
    }
    return v ? v->GetInt64() : 0;
  }
  envelope::Id id(const Value& obj, const char* key) {
    const Value* v = get(obj, key);
    if (v == nullptr) {
      return {};
    }
    Reader inner(where_ + "." + key);
    std::string text = inner.str(*v, "text");
    const Value* number = inner.get(*v, "number");
    if (!inner.ok() || number == nullptr || !number->IsBool()) {
      fail(where_ + "." + key + ": expected {text, number}");
      return {};
    }
    if (number->GetBool()) {
      auto n = parseUint64(text);
      if (!n) {
        fail(where_ + "." + key + ": not a number");
        return {};
      }
      return envelope::Id::number(*n);
    }
    return envelope::Id::text(text);
  }
  void fail(std::string message) {
    if (error_.empty()) {
      error_ = std::move(message);
    }
  }
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

 private:
  std::string where_;
  std::string error_;
};

void writeSession(Writer& w, const Session& s) {
  w.StartObject();
  w.Key("services");
  w.StartObject();
  for (const auto& [name, svc] : s.services) {
    w.Key(name.c_str(), static_cast<rapidjson::SizeType>(name.size()));
    w.StartObject();
    writeInt(w, "remote_port", svc.remotePort);
    writeStr(w, "proxy_name", svc.proxyName);
    writeStr(w, "local_ip", svc.localIp);
    writeInt(w, "local_port", svc.localPort);
    w.EndObject();
  }
  w.EndObject();
  writeInt(w, "started_at_ms", s.startedAtMs);
  writeInt(w, "expires_at_ms", s.expiresAtMs);
  writeInt(w, "auto_stop_seconds", s.autoStopSeconds);
  if (s.stcp()) {
    writeStr(w, "secret_key", s.secretKey);  // the state file is 0600
  }
  w.Key("request_id");
  writeId(w, s.requestId);
  w.EndObject();
}

std::optional<Session> readSession(const Value& v, Reader& r) {
  Session s;
  if (const Value* secret = r.get(v, "secret_key", false); secret != nullptr) {
    s.secretKey = r.str(v, "secret_key");
  }
  const Value* services = r.get(v, "services");
  if (services == nullptr || !services->IsObject()) {
    r.fail("session.services: expected an object");
    return std::nullopt;
  }
  for (const auto& m : services->GetObject()) {
    Reader sr("session.services." + std::string(m.name.GetString()));
    SessionService svc;
    int64_t remote = sr.num(m.value, "remote_port");
    int64_t local = sr.num(m.value, "local_port");
    svc.proxyName = sr.str(m.value, "proxy_name");
    svc.localIp = sr.str(m.value, "local_ip");
    if (!sr.ok() || remote < (s.stcp() ? 0 : 1) || remote > 65535 || local < 1 || local > 65535) {
      r.fail(sr.ok() ? "session.services: port out of range" : sr.error());
      return std::nullopt;
    }
    svc.remotePort = static_cast<uint16_t>(remote);
    svc.localPort = static_cast<uint16_t>(local);
    s.services[m.name.GetString()] = svc;
  }
  s.startedAtMs = r.num(v, "started_at_ms");
  s.expiresAtMs = r.num(v, "expires_at_ms");
  s.autoStopSeconds = r.num(v, "auto_stop_seconds");
  s.requestId = r.id(v, "request_id");
  if (!r.ok()) {
    return std::nullopt;
  }
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ProcessedIds

const ProcessedIds::Entry* ProcessedIds::find(const std::string& sender,
                                              const envelope::Id& id) const {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->id == id && it->sender == sender) {
      return &*it;
    }
  }
  return nullptr;
}

void ProcessedIds::add(Entry entry) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->id == entry.id && it->sender == entry.sender) {
      entries_.erase(it);
      break;
    }
  }
  entries_.push_back(std::move(entry));
  while (entries_.size() > capacity_) {
    entries_.pop_front();
  }
}

void ProcessedIds::expire(int64_t nowMs) {
  while (!entries_.empty() && entries_.front().atMs < nowMs - windowMs_) {
    entries_.pop_front();
  }
}

void ProcessedIds::setLimits(size_t capacity, int64_t windowMs) {
  capacity_ = capacity;
  windowMs_ = windowMs;
  while (entries_.size() > capacity_) {
    entries_.pop_front();
  }
}

// ---------------------------------------------------------------------------------------------
// Outbox

uint64_t Outbox::add(std::string what, std::string value, int32_t partition, int64_t offset,
                     std::string* dropped) {
  uint64_t seq = nextSeq_++;
  entries_[seq] = Entry{seq, std::move(what), std::move(value), partition, offset};
  if (entries_.size() > capacity_) {
    auto victim = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->second.offset < 0) {  // prefer dropping an event over a response
        victim = it;
        break;
      }
    }
    if (dropped != nullptr) {
      *dropped = victim->second.what;
    }
    entries_.erase(victim);
  }
  return seq;
}

void Outbox::restore(Entry entry) {
  nextSeq_ = std::max(nextSeq_, entry.seq + 1);
  uint64_t seq = entry.seq;
  entries_[seq] = std::move(entry);
}

bool Outbox::remove(uint64_t seq) {
  return entries_.erase(seq) != 0;
}

const Outbox::Entry* Outbox::find(uint64_t seq) const {
  auto it = entries_.find(seq);
  return it == entries_.end() ? nullptr : &it->second;
}

const Outbox::Entry* Outbox::findByOffset(int32_t partition, int64_t offset) const {
  for (const auto& [seq, e] : entries_) {
    if (e.offset == offset && e.partition == partition && offset >= 0) {
      return &e;
    }
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Serialisation

std::string toJson(const AgentState& state) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  w.StartObject();
  writeInt(w, "version", kStateVersion);
  writeStr(w, "edge_id", state.edgeId);
  w.Key("positions");
  w.StartObject();
  for (const auto& [partition, offset] : state.positions) {
    std::string key = std::to_string(partition);
    w.Key(key.c_str(), static_cast<rapidjson::SizeType>(key.size()));
    w.Int64(offset);
  }
  w.EndObject();
  w.Key("session");
  if (state.session) {
    writeSession(w, *state.session);
  } else {
    w.Null();
  }
  w.Key("frpc");
  if (state.frpc) {
    w.StartObject();
    writeInt(w, "pid", state.frpc->pid);
    w.Key("start_ticks");
    w.Uint64(state.frpc->startTicks);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("last_stop");
  if (state.lastStop) {
    w.StartObject();
    writeStr(w, "reason", state.lastStop->reason);
    writeInt(w, "stopped_at_ms", state.lastStop->stoppedAtMs);
    writeStr(w, "exit_status", state.lastStop->exitStatus);
    writeStr(w, "output", state.lastStop->output);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("processed");
  w.StartArray();
  for (const auto& e : state.processed.entries()) {
    w.StartObject();
    writeStr(w, "sender", e.sender);
    w.Key("id");
    writeId(w, e.id);
    writeInt(w, "at_ms", e.atMs);
    writeStr(w, "response", e.response);
    w.EndObject();
  }
  w.EndArray();
  w.Key("outbox");
  w.StartArray();
  for (const auto& [seq, e] : state.outbox.entries()) {
    w.StartObject();
    w.Key("seq");
    w.Uint64(seq);
    writeStr(w, "what", e.what);
    writeStr(w, "value", e.value);
    writeInt(w, "partition", e.partition);
    writeInt(w, "offset", e.offset);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(sb.GetString(), sb.GetSize()) + "\n";
}

namespace {

// Parts of the state file; each reports what is wrong through `r`.
void readPositions(const Value& doc, Reader& r, AgentState& st) {
  if (const Value* positions = r.get(doc, "positions")) {
    if (!positions->IsObject()) {
      r.fail("state.positions: expected an object");
    } else {
      for (const auto& m : positions->GetObject()) {
        auto partition = parseInt64(m.name.GetString());
        if (!partition || !m.value.IsInt64() || *partition < 0) {
          r.fail("state.positions: expected partition -> offset");
          break;
        }
        st.positions[static_cast<int32_t>(*partition)] = m.value.GetInt64();
      }
    }
  }
}

void readFrpcRecord(const Value& doc, Reader& r, AgentState& st) {
  if (const Value* f = r.get(doc, "frpc"); f && !f->IsNull()) {
    Reader fr("state.frpc");
    FrpcRecord rec;
    rec.pid = static_cast<int>(fr.num(*f, "pid"));
    const Value* ticks = fr.get(*f, "start_ticks");
    if (!fr.ok() || ticks == nullptr || !ticks->IsUint64() || rec.pid <= 0) {
      r.fail(fr.ok() ? "state.frpc: expected {pid, start_ticks}" : fr.error());
    } else {
      rec.startTicks = ticks->GetUint64();
      st.frpc = rec;
    }
  }
}

void readLastStop(const Value& doc, Reader& r, AgentState& st) {
  if (const Value* l = r.get(doc, "last_stop"); l && !l->IsNull()) {
    Reader lr("state.last_stop");
    StopInfo info;
    info.reason = lr.str(*l, "reason");
    info.stoppedAtMs = lr.num(*l, "stopped_at_ms");
    info.exitStatus = lr.str(*l, "exit_status");
    info.output = lr.str(*l, "output");
    if (!lr.ok()) {
      r.fail(lr.error());
    } else {
      st.lastStop = info;
    }
  }
}

void readProcessed(const Value& doc, Reader& r, AgentState& st) {
  if (const Value* processed = r.get(doc, "processed")) {
    if (!processed->IsArray()) {
      r.fail("state.processed: expected an array");
    } else {
      for (const auto& v : processed->GetArray()) {
        Reader pr("state.processed[]");
        ProcessedIds::Entry e;
        e.sender = pr.str(v, "sender");
        e.id = pr.id(v, "id");
        e.atMs = pr.num(v, "at_ms");
        e.response = pr.str(v, "response");
        if (!pr.ok()) {
          r.fail(pr.error());
          break;
        }
        st.processed.add(std::move(e));
      }
    }
  }
}

void readOutbox(const Value& doc, Reader& r, AgentState& st) {
  if (const Value* outbox = r.get(doc, "outbox")) {
    if (!outbox->IsArray()) {
      r.fail("state.outbox: expected an array");
    } else {
      for (const auto& v : outbox->GetArray()) {
        Reader orr("state.outbox[]");
        Outbox::Entry e;
        const Value* seq = orr.get(v, "seq");
        e.what = orr.str(v, "what");
        e.value = orr.str(v, "value");
        e.partition = static_cast<int32_t>(orr.num(v, "partition"));
        e.offset = orr.num(v, "offset");
        if (!orr.ok() || seq == nullptr || !seq->IsUint64()) {
          r.fail(orr.ok() ? "state.outbox[].seq: expected an unsigned integer" : orr.error());
          break;
        }
        e.seq = seq->GetUint64();
        st.outbox.restore(std::move(e));
      }
    }
  }
}

}  // namespace

Result<AgentState> stateFromJson(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  if (doc.HasParseError()) {
    return Error(Status::kBadRequest, std::string("invalid JSON at byte ") +
                                          std::to_string(doc.GetErrorOffset()) + ": " +
                                          rapidjson::GetParseError_En(doc.GetParseError()));
  }
  Reader r("state");
  AgentState st;
  if (r.num(doc, "version") != kStateVersion && r.ok()) {
    return Error(Status::kBadRequest, "unknown state version");
  }
  st.edgeId = r.str(doc, "edge_id");
  readPositions(doc, r, st);
  if (const Value* s = r.get(doc, "session"); s && !s->IsNull()) {
    st.session = readSession(*s, r);
  }
  readFrpcRecord(doc, r, st);
  readLastStop(doc, r, st);
  readProcessed(doc, r, st);
  readOutbox(doc, r, st);
  if (!r.ok()) {
    return Error(Status::kBadRequest, r.error());
  }
  return st;
}

LoadedState loadState(const std::string& path, int64_t nowMs) {
  LoadedState out;
  auto text = readFile(path);
  if (!text && text.error().status == Status::kNotFound) {
    return out;
  }
  std::string what;
  if (text) {
    auto parsed = stateFromJson(*text);
    if (parsed) {
      out.state = std::move(*parsed);
      out.fresh = false;
      return out;
    }
    what = "is corrupt (" + parsed.error().message + ")";
  } else {
    what = "cannot be read (" + text.error().describe() + ")";
  }
  // Unreadable or corrupt: set aside (its content may help a post-mortem) and start fresh.
  out.warning = "state file " + path + " " + what + "; " + setAside(path, nowMs) +
                "; starting with an empty state";
  return out;
}

std::string setAside(const std::string& path, int64_t nowMs) {
  std::string aside = path + ".corrupt-" + std::to_string(nowMs);
  if (std::rename(path.c_str(), aside.c_str()) == 0) {
    return "set aside as " + aside;
  }
  return "could not set it aside (" + std::string(std::strerror(errno)) + ")";
}

VoidResult saveState(const std::string& path, const AgentState& state) {
  if (auto r = writeFileAtomic(path, toJson(state), 0600); !r) {
    return Error(r.error().status, "state: " + r.error().message);
  }
  return {};
}

}  // namespace edgelink::agent
