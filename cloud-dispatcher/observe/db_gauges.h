#pragma once

// The gauges read from the database: one query, run periodically by the daemon's main thread
// (never by the HTTP server). Each gauge is a column of that one SELECT; adding one is a line in
// kDbGaugeColumns (db_gauges.cpp) and a field of DbGauges (observe/metrics.h).

#include <string>

#include "core/result.h"
#include "db/pg.h"
#include "observe/metrics.h"

namespace edgelink::dispatcher {

/// What the periodic query read: the gauges and the database's schema version.
struct DbSnapshot {
  DbGauges gauges;
  int schemaVersion = 0;
};

/// The one SELECT (its first column the schema version, then one per gauge).
std::string dbGaugesSql();

/// Runs it.
Result<DbSnapshot> readDbGauges(pg::Connection& db);

}  // namespace edgelink::dispatcher
