// edges label add/remove/list: labels group edges for bulk operations (`config set --label`,
// `config push --label`, `edges list --label`).

#include <cctype>
#include <memory>

#include "cli/config_store.h"
#include "cli/context.h"
#include "cli/queries.h"

namespace edgelink::dispatcher {
namespace {

struct LabelArgs {
  std::string edge;
  std::string label;  ///< list --label
  std::vector<std::string> labels;
};

/// "" for a valid label: 1-100 characters from A-Z a-z 0-9 . _ - : /
std::string labelProblem(const std::string& label, const std::string& what) {
  bool ok = !label.empty() && label.size() <= 100;
  for (char ch : label) {
    ok = ok && (std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '.' || ch == '_' ||
                ch == '-' || ch == ':' || ch == '/');
  }
  return ok ? "" : what + " '" + label + "': expected 1-100 characters from A-Z a-z 0-9 . _ - : /";
}

int labelChange(const Context& c, const LabelArgs& a, bool add) {
  if (auto problem = edgeIdProblem(a.edge); !problem.empty()) {
    return c.fail(kExitUsage, problem);
  }
  for (const auto& label : a.labels) {
    if (auto problem = labelProblem(label, "LABEL"); !problem.empty()) {
      return c.fail(kExitUsage, problem);
    }
  }
  return c.withDatabase([&](pg::Connection& db) {
    auto known = edgeKnown(db, a.edge);
    if (!known) {
      return c.fail(exitCodeForDbError(known.error()), known.error().describe());
    }
    if (add && !*known) {
      return c.fail(kExitNotFound, "no edge " + a.edge + " (edges add " + a.edge + ")");
    }
    int64_t changed = 0;
    for (const auto& label : a.labels) {
      auto r = db.exec(add ? "INSERT INTO edge_labels (edge_id, label) VALUES ($1, $2)"
                             " ON CONFLICT DO NOTHING"
                           : "DELETE FROM edge_labels WHERE edge_id = $1 AND label = $2",
                       {a.edge, label});
      if (!r) {
        return c.fail(exitCodeForDbError(r.error()), r.error().describe());
      }
      changed += r->affected();
    }
    const std::string verb = add ? "added" : "removed";
    c.showOne({stringField("edge_id", a.edge), numberField(verb, changed)},
              "edge " + a.edge + ": " + verb + " " + std::to_string(changed) + " label(s)\n");
    return static_cast<int>(kExitOk);
  });
}

int labelList(const Context& c, const LabelArgs& a) {
  if (!a.edge.empty()) {
    if (auto problem = edgeIdProblem(a.edge); !problem.empty()) {
      return c.fail(kExitUsage, problem);
    }
  }
  return c.withDatabase([&](pg::Connection& db) {
    auto rows = db.exec(
        "SELECT label, edge_id, added_at FROM edge_labels WHERE ($1 = '' OR edge_id = $1)"
        " AND ($2 = '' OR label = $2) ORDER BY label, edge_id LIMIT $3",
        {a.edge, a.label, std::to_string(c.limit)});
    Result<std::vector<Record>> records = rows ? Result<std::vector<Record>>(toRecords(*rows))
                                               : Result<std::vector<Record>>(rows.error());
    return c.show(records, {{"label", "LABEL"}, {"edge_id", "EDGE"}, {"added_at", "ADDED"}});
  });
}

}  // namespace

void addEdgesLabelCommands(Commands& cmds, CLI::App* edges) {
  Context& c = cmds.context();
  auto a = std::make_shared<LabelArgs>();
  auto* label =
      cmds.group("label", "Labels on edges, for bulk operations (config --label)",
                 "cloud-dispatcher edges label add --edge elevator-0042 building-7", edges);
  auto* add = cmds.add(
      "add", "Give an edge labels",
      "cloud-dispatcher edges label add --edge elevator-0042 building-7",
      [&c, a] { return labelChange(c, *a, true); }, label);
  add->add_option("--edge", a->edge, "Edge id")->required();
  add->add_option("LABEL", a->labels, "Labels")->required();
  auto* remove = cmds.add(
      "remove", "Take labels off an edge",
      "cloud-dispatcher edges label remove --edge elevator-0042 building-7",
      [&c, a] { return labelChange(c, *a, false); }, label);
  remove->add_option("--edge", a->edge, "Edge id")->required();
  remove->add_option("LABEL", a->labels, "Labels")->required();
  auto* list = cmds.add(
      "list", "Labels and the edges carrying them",
      "cloud-dispatcher edges label list --label building-7", [&c, a] { return labelList(c, *a); },
      label);
  list->add_option("--edge", a->edge, "Only this edge's labels");
  list->add_option("--label", a->label, "Only the edges carrying this label");
  list->add_option("--limit", c.limit, "At most this many")->capture_default_str();
}

}  // namespace edgelink::dispatcher
