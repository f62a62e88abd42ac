// db migrate, db status.

#include "cli/context.h"
#include "cli/queries.h"
#include "db/migrations.h"

namespace edgelink::dispatcher {
namespace {

int migrateDb(const Context& c, pg::Connection& db) {
  auto m = migrate(db);
  if (!m) {
    return c.fail(kExitDatabase, m.error().describe());
  }
  if (c.json) {
    Record r{numberField("from", m->from), numberField("to", m->to)};
    std::string applied = "[";
    for (size_t i = 0; i < m->applied.size(); ++i) {
      applied += (i ? ",\"" : "\"") + m->applied[i] + "\"";
    }
    r.push_back(Field{"applied", FieldKind::kJson, applied + "]"});
    c.out(renderJsonObject(r));
  } else if (m->applied.empty()) {
    c.out("database schema already at version " + std::to_string(m->to) + "\n");
  } else {
    for (const auto& a : m->applied) {
      c.out("applied migration " + a + "\n");
    }
    c.out("database schema now at version " + std::to_string(m->to) + "\n");
  }
  return kExitOk;
}

int dbStatus(const Context& c, pg::Connection& db) {
  auto v = schemaVersion(db);
  if (!v) {
    return c.fail(kExitDatabase, v.error().describe());
  }
  std::vector<Record> dispatchers;
  if (*v >= 3) {
    auto d = listDispatchers(db);
    if (!d) {
      return c.fail(kExitDatabase, d.error().describe());
    }
    dispatchers = std::move(*d);
  }
  if (c.json) {
    std::string list = renderJsonArray(dispatchers);
    list.pop_back();  // newline
    c.out(renderJsonObject({numberField("schema_version", *v),
                            numberField("binary_schema_version", latestSchemaVersion()),
                            Field{"dispatchers", FieldKind::kJson, list}}));
  } else {
    c.out("schema version " + std::to_string(*v) +
          " (this binary: " + std::to_string(latestSchemaVersion()) + ")\n");
    if (*v >= 3) {
      c.out(renderTable(dispatchers, {{"member", "MEMBER"},
                                      {"consumer_group", "GROUP"},
                                      {"state", "STATE"},
                                      {"assigned_partitions", "PARTITIONS"},
                                      {"messages_stored", "STORED"},
                                      {"updated_at", "UPDATED"}}));
    }
  }
  return *v == latestSchemaVersion() ? kExitOk : kExitDatabase;
}

}  // namespace

void addDbCommands(Commands& cmds) {
  const Context& c = cmds.context();
  auto* group = cmds.group("db", "Database schema", "cloud-dispatcher db migrate");
  cmds.add(
      "migrate", "Create or upgrade the schema (idempotent)", "cloud-dispatcher db migrate",
      [&c] { return c.withDatabase([&c](pg::Connection& db) { return migrateDb(c, db); }, true); },
      group);
  cmds.add(
      "status", "Schema version and running dispatchers", "cloud-dispatcher db status --json",
      [&c] { return c.withDatabase([&c](pg::Connection& db) { return dbStatus(c, db); }, true); },
      group);
}

}  // namespace edgelink::dispatcher
