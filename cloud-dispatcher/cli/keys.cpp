// keys generate / list / rotate / remove: this dispatcher's request-signing keys (key_store.h).

#include <memory>

#include "cli/context.h"
#include "cli/key_store.h"
#include "core/time_format.h"

namespace edgelink::dispatcher {
namespace {

struct KeysArgs {
  std::string keyId;  ///< keys remove
};

int exitFor(const Error& e) {
  switch (e.status) {
    case Status::kNotFound:
      return kExitNotFound;
    case Status::kConflict:
      return kExitFailed;
    case Status::kBadRequest:
    case Status::kForbidden:
      return kExitUsage;
    default:
      return kExitFailed;
  }
}

Record recordOf(const StoredKey& k) {
  Field created{"created_at", FieldKind::kTimestamp, formatRfc3339Ms(k.createdMs)};
  return {stringField("key_id", k.keyId), stringField("public_key", k.publicKey), created,
          boolField("active", k.active)};
}

const std::vector<Column> kKeyColumns = {{"key_id", "KEY ID"},
                                         {"public_key", "PUBLIC KEY"},
                                         {"created_at", "CREATED"},
                                         {"active", "ACTIVE"}};

int keysList(const Context& c) {
  KeyStore store(c.options.signingKeyDir);
  auto keys = store.list();
  if (!keys) {
    return c.fail(exitFor(keys.error()), keys.error().describe());
  }
  std::vector<Record> records;
  for (const auto& k : *keys) {
    records.push_back(recordOf(k));
  }
  return c.show(records, kKeyColumns);
}

int keysGenerate(const Context& c, bool rotate) {
  KeyStore store(c.options.signingKeyDir);
  const std::string before = store.activeId();
  auto key = store.generate(rotate);
  if (!key) {
    return c.fail(exitFor(key.error()), key.error().describe());
  }
  std::string text = "key " + key->keyId + (key->active ? " (active)" : "") +
                     "\npublic key: " + key->publicKey + "\n";
  if (rotate && !before.empty()) {
    text += "the old key " + before +
            " stays listed: once every board's trusted-keys holds the new public key and no "
            "longer needs the old one, run `cloud-dispatcher keys remove " +
            before + "`\n";
  } else if (!key->active) {
    text += "not active: `keys rotate` makes a new key active\n";
  }
  c.showOne(recordOf(*key), text);
  return kExitOk;
}

int keysRemove(const Context& c, const KeysArgs& a) {
  KeyStore store(c.options.signingKeyDir);
  if (auto r = store.remove(a.keyId); !r) {
    return c.fail(exitFor(r.error()), r.error().describe());
  }
  c.showOne({stringField("key_id", a.keyId), stringField("outcome", "removed")},
            "removed key " + a.keyId + "\n");
  return kExitOk;
}

}  // namespace

void addKeysCommands(Commands& cmds) {
  Context& c = cmds.context();
  auto a = std::make_shared<KeysArgs>();
  auto* keys = cmds.group("keys", "This dispatcher's request-signing keys (signing-key-dir)",
                          "cloud-dispatcher keys list");
  cmds.add(
      "generate", "Make a new key (active when no key is)", "cloud-dispatcher keys generate",
      [&c] { return keysGenerate(c, false); }, keys);
  cmds.add(
      "list", "Keys: id, public key (for the boards' trusted-keys), created, active",
      "cloud-dispatcher keys list --json", [&c] { return keysList(c); }, keys);
  cmds.add(
      "rotate", "Make a new key and make it active (the old one stays until `keys remove`)",
      "cloud-dispatcher keys rotate", [&c] { return keysGenerate(c, true); }, keys);
  auto* remove = cmds.add(
      "remove", "Remove a key that is not active", "cloud-dispatcher keys remove 0123456789abcdef",
      [&c, a] { return keysRemove(c, *a); }, keys);
  remove->add_option("KEYID", a->keyId, "Key id (see keys list)")->required();
}

}  // namespace edgelink::dispatcher
