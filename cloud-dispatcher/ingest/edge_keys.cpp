#include "ingest/edge_keys.h"

#include <chrono>
#include <thread>

#include "core/logging.h"

namespace edgelink::dispatcher {

Result<std::optional<security::PublicKey>> EdgeKeyCache::query(const std::string& edge) const {
  if (!db_ || !db_->healthy()) {
    auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher-keys");
    if (!db) {
      return db.error();
    }
    db_ = std::move(db).value();
  }
  auto rows = db_->exec("SELECT public_key FROM edges WHERE edge_id = $1", {edge});
  if (!rows) {
    db_.reset();
    return rows.error();
  }
  if (rows->size() == 0 || rows->isNull(0, 0)) {
    return std::optional<security::PublicKey>();
  }
  auto key = security::PublicKey::parse(rows->view(0, 0));
  if (!key) {
    // Stored by `edges add --key`, which parsed it: only a hand-edited row gets here.
    log::get("dispatcher")
        ->error("edge={}: the stored public_key is not a key: {}", edge, key.error().describe());
    return std::optional<security::PublicKey>();
  }
  return std::optional<security::PublicKey>(*key);
}

void EdgeKeyCache::refreshIfChanged() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!db_ || !db_->healthy()) {
    auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher-keys");
    if (!db) {
      return;  // check() waits for the database when it needs a key
    }
    db_ = std::move(db).value();
  }
  auto rows = db_->exec("SELECT value FROM dispatcher_settings WHERE key = $1",
                        {std::string(kEdgeKeysChangedSetting)});
  if (!rows) {
    db_.reset();
    return;
  }
  std::string version = rows->size() > 0 ? rows->str(0, 0) : std::string();
  if (version != version_) {
    entries_.clear();
    version_ = std::move(version);
  }
}

EdgeKeyCache::Entry& EdgeKeyCache::load(const std::string& edge) const {
  Entry& e = entries_[edge];
  for (int waitMs = 100;; waitMs = std::min(waitMs * 2, 5000)) {
    auto key = query(edge);
    if (key) {
      e.key = *key;
      e.loadedMs = clock_.monoMs();
      e.lastUnknownKeyId.clear();
      return e;
    }
    log::get("dispatcher")
        ->warn("edge={}: reading its public key: {} (retrying)", edge, key.error().describe());
    if (stop_ != nullptr && *stop_) {
      return e;  // what it knew; nothing is stored while the database is away anyway
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(waitMs));
  }
}

AnswerVerdict EdgeKeyCache::check(const std::string& edge, std::string_view topic,
                                  std::string_view value,
                                  const security::FoundHeaders& headers) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t now = clock_.monoMs();
  auto it = entries_.find(edge);
  Entry* e = it != entries_.end() && now - it->second.loadedMs <= kEdgeKeyMaxAgeMs ? &it->second
                                                                                   : &load(edge);
  auto v = verifyWithEdgeKey(e->key, topic, value, headers);
  const bool staleNoKey = !e->key && now - e->loadedMs > kEdgeNoKeyMaxAgeMs;
  const bool newKeyId =
      v.verdict == security::Verdict::kUnknownKey && v.keyId != e->lastUnknownKeyId;
  const bool unsignedMayPass =
      v.verdict == security::Verdict::kUnsigned && staleNoKey && !options_.requireSignedAnswers;
  if (newKeyId || unsignedMayPass) {
    e = &load(edge);
    v = verifyWithEdgeKey(e->key, topic, value, headers);
    if (v.verdict == security::Verdict::kUnknownKey) {
      e->lastUnknownKeyId = v.keyId;
    }
  }
  return judgeAnswer(v, e->key.has_value(), options_.requireSignedAnswers);
}

}  // namespace edgelink::dispatcher
