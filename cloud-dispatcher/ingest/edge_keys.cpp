#include "ingest/edge_keys.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "core/logging.h"

namespace edgelink::dispatcher {

VoidResult EdgeKeyCache::connect() const {
  if (db_ && db_->healthy()) {
    return {};
  }
  auto db = pg::Connection::open(options_.pgConninfo, "cloud-dispatcher-keys");
  if (!db) {
    return db.error();
  }
  db_ = std::move(db).value();
  return {};
}

VoidResult EdgeKeyCache::reload(bool force) const {
  if (auto r = connect(); !r) {
    return r;
  }
  auto mark = db_->exec("SELECT value FROM dispatcher_settings WHERE key = $1",
                        {std::string(kEdgeKeysChangedSetting)});
  if (!mark) {
    db_.reset();
    return mark.error();
  }
  std::string version = mark->size() > 0 ? mark->str(0, 0) : std::string();
  if (!force && loaded_ && version == version_ &&
      clock_.monoMs() - loadedMs_ <= kEdgeKeysMaxAgeMs) {
    return {};
  }
  auto rows = db_->exec("SELECT edge_id, public_key FROM edges WHERE public_key IS NOT NULL");
  if (!rows) {
    db_.reset();
    return rows.error();
  }
  std::unordered_map<std::string, std::optional<security::PublicKey>> keys;
  for (int i = 0; i < rows->size(); ++i) {
    auto key = security::PublicKey::parse(rows->view(i, 1));
    if (!key) {
      // Stored by `edges add --key`, which parsed it: only a hand-edited row gets here. The
      // edge's answers are refused (it has a key, none verifies) rather than taken unchecked.
      log::get("dispatcher")
          ->error("edge={}: the stored public_key is not a key: {}", rows->str(i, 0),
                  key.error().describe());
    }
    keys.emplace(rows->str(i, 0), key ? std::optional<security::PublicKey>(*key) : std::nullopt);
  }
  keys_ = std::move(keys);
  version_ = std::move(version);
  loaded_ = true;
  loadedMs_ = clock_.monoMs();
  return {};
}

void EdgeKeyCache::refreshIfChanged() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto r = reload(false); !r && loaded_) {
    log::get("dispatcher")
        ->warn("reading the edges' keys: {} (keeping those read before)", r.error().describe());
  }
}

AnswerVerdict EdgeKeyCache::check(const std::string& edge, std::string_view topic,
                                  std::string_view value,
                                  const security::FoundHeaders& headers) const {
  const bool isSigned = !headers.keyIds.empty() || !headers.signatures.empty();
  bool hasKey = false;
  std::optional<security::PublicKey> key;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Never read: wait for the database (nothing is stored while it is away anyway).
    for (int waitMs = 100; !loaded_; waitMs = std::min(waitMs * 2, 5000)) {
      auto r = reload(true);
      if (r) {
        break;
      }
      log::get("dispatcher")->warn("reading the edges' keys: {} (retrying)", r.error().describe());
      if (stop_ != nullptr && *stop_) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(waitMs));
    }
    auto it = keys_.find(edge);
    hasKey = it != keys_.end();
    if (hasKey && isSigned) {
      key = it->second;  // verified outside the lock: consumers verify at once
    }
  }
  security::Verification v;  // unsigned: no header at all
  if (isSigned) {
    v = verifyWithEdgeKey(key, topic, value, headers);
  }
  return judgeAnswer(v, hasKey, options_.requireSignedAnswers);
}

}  // namespace edgelink::dispatcher
