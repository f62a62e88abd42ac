// config set/unset/show: the remote configuration of the fleet and of single edges
// (docs/REMOTE-CONFIG.md). config push: cli/config_push.cpp.

#include <algorithm>
#include <memory>

#include "cli/audit.h"
#include "cli/config_store.h"
#include "cli/context.h"

namespace edgelink::dispatcher {
namespace {

/// Which scope a command names: one of --edge, --fleet, --label.
struct ScopeArgs {
  std::string edge;
  bool fleet = false;
  std::string label;
};

struct ConfigArgs {
  ScopeArgs scope;
  std::vector<std::string> items;  ///< KEY=VALUE (set) or KEY (unset)
};

const char* const kLocalOnlyReminder =
    "local-only keys (service, remote-ports, trusted-keys, credentials, paths, ...) are set only "
    "in each board's own file, never here (docs/REMOTE-CONFIG.md)\n";

/// "" when exactly one of --edge, --fleet, --label is given (and valid), else the problem.
std::string scopeProblem(const ScopeArgs& s, bool labelAllowed) {
  const int given = (s.edge.empty() ? 0 : 1) + (s.fleet ? 1 : 0) + (s.label.empty() ? 0 : 1);
  const std::string choices =
      labelAllowed ? "--edge ID, --fleet or --label L" : "--edge ID or --fleet";
  if (given != 1) {
    return "expected exactly one of " + choices;
  }
  if (!s.edge.empty()) {
    return edgeIdProblem(s.edge);
  }
  return {};
}

/// The scopes a command changes: the fleet's, the edge's, or each labelled edge's; a printed
/// failure otherwise (an unknown edge exits 6, a label no edge carries 1).
int resolveScopes(const Context& c, pg::Connection& db, const ScopeArgs& s,
                  std::vector<std::string>& scopes) {
  if (s.fleet) {
    scopes = {kFleetScope};
    return kExitOk;
  }
  if (!s.edge.empty()) {
    auto known = edgeKnown(db, s.edge);
    if (!known) {
      return c.fail(exitCodeForDbError(known.error()), known.error().describe());
    }
    if (!*known) {
      return c.fail(kExitNotFound, "no edge " + s.edge + " (edges add " + s.edge + ")");
    }
    scopes = {s.edge};
    return kExitOk;
  }
  auto labelled = edgesWithLabel(db, s.label);
  if (!labelled) {
    return c.fail(exitCodeForDbError(labelled.error()), labelled.error().describe());
  }
  if (labelled->empty()) {
    return c.fail(kExitFailed, "--label " + s.label +
                                   ": no edge carries this label (edges label add); "
                                   "nothing changed");
  }
  scopes = *labelled;
  return kExitOk;
}

std::string scopeName(const ScopeArgs& s) {
  return s.fleet ? "fleet" : !s.edge.empty() ? "edge " + s.edge : "label " + s.label;
}

/// config set and config unset: `values` to store, `unset` keys to remove.
int changeConfig(const Context& c, const ConfigArgs& a, const std::vector<ConfigAssignment>& values,
                 const std::vector<std::string>& unset) {
  return c.withDatabase([&](pg::Connection& db) {
    std::vector<std::string> scopes;
    if (int failed = resolveScopes(c, db, a.scope, scopes); failed != kExitOk) {
      return failed;
    }
    int64_t removed = 0;
    auto versions = changeScopes(db, scopes, values, unset, c.auditActor().name, removed);
    if (!versions) {
      return c.fail(exitCodeForDbError(versions.error()), versions.error().describe());
    }
    const int64_t newest = *std::max_element(versions->begin(), versions->end());
    Record r{stringField("scope", a.scope.fleet          ? "fleet"
                                  : a.scope.edge.empty() ? "label"
                                                         : "edge"),
             a.scope.edge.empty() ? nullField("edge_id") : stringField("edge_id", a.scope.edge),
             a.scope.label.empty() ? nullField("label") : stringField("label", a.scope.label),
             numberField("edges", a.scope.fleet ? 0 : static_cast<int64_t>(scopes.size())),
             numberField("version", newest)};
    std::string text = scopeName(a.scope) + ": ";
    if (unset.empty()) {
      r.push_back(numberField("keys", static_cast<int64_t>(values.size())));
      text += "set " + std::to_string(values.size()) + " key(s)";
    } else {
      r.push_back(numberField("removed", removed));
      text += "removed " + std::to_string(removed) + " value(s)";
    }
    if (!a.scope.label.empty()) {
      text += " on " + std::to_string(scopes.size()) + " edge(s)";
    }
    text += ", version " + std::to_string(newest) + " (`config push` tells the boards now)\n";
    c.showOne(r, text);
    return static_cast<int>(kExitOk);
  });
}

int configSet(const Context& c, const ConfigArgs& a) {
  if (auto problem = scopeProblem(a.scope, true); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  std::vector<ConfigAssignment> values;
  for (const auto& item : a.items) {
    auto parsed = parseAssignment(item);
    if (!parsed) {
      return c.fail(kExitUsage, parsed.error().message + "; nothing stored");
    }
    values.push_back(*parsed);
  }
  return changeConfig(c, a, values, {});
}

int configUnset(const Context& c, const ConfigArgs& a) {
  if (auto problem = scopeProblem(a.scope, true); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  for (const auto& key : a.items) {
    if (auto r = checkUnsetKey(key); !r) {
      return c.fail(kExitUsage, r.error().message + "; nothing removed");
    }
  }
  return changeConfig(c, a, {}, a.items);
}

Record entryRecord(const ConfigEntry& e) {
  return {stringField("key", e.key), Field{"value", FieldKind::kJson, e.json},
          stringField("source", e.source), Field{"set_at", FieldKind::kTimestamp, e.setAt},
          stringField("set_by", e.setBy)};
}

int configShow(const Context& c, const ConfigArgs& a) {
  if (auto problem = scopeProblem(a.scope, false); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  return c.withDatabase([&](pg::Connection& db) {
    if (!a.scope.edge.empty()) {
      std::vector<std::string> scopes;
      if (int failed = resolveScopes(c, db, a.scope, scopes); failed != kExitOk) {
        return failed;
      }
    }
    auto config = loadScopeConfig(db, a.scope.edge);
    if (!config) {
      return c.fail(exitCodeForDbError(config.error()), config.error().describe());
    }
    std::vector<Record> entries;
    for (const auto& e : config->entries) {
      entries.push_back(entryRecord(e));
    }
    const bool edge = !a.scope.edge.empty();
    if (c.json) {
      Record merged;
      for (const auto& e : config->entries) {
        merged.push_back(Field{e.key, FieldKind::kJson, e.json});
      }
      std::string mergedJson = renderJsonObject(merged);
      mergedJson.pop_back();
      Record r{stringField("scope", edge ? "edge" : "fleet"),
               edge ? stringField("edge_id", a.scope.edge) : nullField("edge_id"),
               numberField("version_desired", config->desiredVersion)};
      if (edge) {
        r.push_back(config->appliedVersion ? numberField("version_applied", *config->appliedVersion)
                                           : nullField("version_applied"));
      }
      std::string values = renderJsonArray(entries);
      values.pop_back();
      r.push_back(Field{"config", FieldKind::kJson, mergedJson});
      r.push_back(Field{"values", FieldKind::kJson, values});
      c.out(renderJsonObject(r));
      return static_cast<int>(kExitOk);
    }
    std::string head =
        edge ? "edge " + a.scope.edge + ": desired version " +
                   std::to_string(config->desiredVersion) + ", applied " +
                   (config->appliedVersion ? std::to_string(*config->appliedVersion)
                                           : std::string("none reported")) +
                   "\n"
             : "fleet defaults: version " + std::to_string(config->desiredVersion) + "\n";
    c.out(head +
          renderTable(entries, {{"key", "KEY"},
                                {"value", "VALUE", 60},
                                {"source", "FROM"},
                                {"set_at", "SET AT"},
                                {"set_by", "BY", 24}}) +
          kLocalOnlyReminder);
    return static_cast<int>(kExitOk);
  });
}

void addScopeOptions(CLI::App* cmd, ScopeArgs& s, bool label) {
  cmd->add_option("--edge", s.edge, "One edge (its own values, over the fleet's)");
  cmd->add_flag("--fleet", s.fleet, "The fleet's defaults");
  if (label) {
    cmd->add_option("--label", s.label, "Every edge carrying this label (each edge's own values)");
  }
}

}  // namespace

void addConfigCommands(Commands& cmds) {
  Context& c = cmds.context();
  auto a = std::make_shared<ConfigArgs>();
  auto* config = cmds.group("config", "Remote configuration of the edges (docs/REMOTE-CONFIG.md)",
                            "cloud-dispatcher config set --fleet heartbeat-interval=30");
  auto* set = cmds.add(
      "set", "Store remote config values (one new version per scope)",
      "cloud-dispatcher config set --edge elevator-0042 log-level=debug auto-stop-max=7200",
      [&c, a] { return configSet(c, *a); }, config);
  addScopeOptions(set, a->scope, true);
  set->add_option("KEY=VALUE", a->items, "Values: JSON when it parses (30, \"x\"), else text")
      ->required();
  auto* unset = cmds.add(
      "unset", "Remove remote config values (a new version per scope)",
      "cloud-dispatcher config unset --edge elevator-0042 log-level",
      [&c, a] { return configUnset(c, *a); }, config);
  addScopeOptions(unset, a->scope, true);
  unset->add_option("KEY", a->items, "Keys to remove")->required();
  auto* show = cmds.add(
      "show", "An edge's merged config (each value from the edge or the fleet), or the fleet's",
      "cloud-dispatcher config show --edge elevator-0042 --json",
      [&c, a] { return configShow(c, *a); }, config);
  addScopeOptions(show, a->scope, false);
  addConfigPushCommand(cmds, config);
}

}  // namespace edgelink::dispatcher
