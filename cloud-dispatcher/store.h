#pragma once

// Writes a Batch to PostgreSQL in one transaction. Each kind of row is COPYed (binary) straight
// into its table; when a row exists already (a redelivered batch: unique violation) the table's
// part rolls back to a savepoint and goes through a staging table with INSERT ... ON CONFLICT DO
// NOTHING, so redelivery changes nothing. Then: NOTIFY for new responses, the edges upsert
// (GREATEST/LEAST merges; writes that would change nothing are skipped), and the session effects
// of what is new, in message order.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "copy_writer.h"
#include "core/result.h"
#include "model.h"
#include "options.h"
#include "pg.h"

namespace edgelink::dispatcher {

struct StoreStats {
  bool redelivered = false;  ///< some rows existed already (the staging path was taken)
  size_t sessionEffects = 0;
  size_t edgesWritten = 0;
};

/// Batches with at most this many new responses notify each one; larger ones send one
/// {"batch": true, ...} notification (listeners then re-check what they wait for).
inline constexpr size_t kNotifyEachUpTo = 256;

/// Column lists and binary COPY rows of the tables the ingest writes (shared with the benchmark's
/// raw COPY, so both send the very same bytes).
extern const char* const kResponseColumns;
void addResponseRow(CopyWriter& w, const ResponseRow& r);

/// JSON payload of a per-response notification: {"edge_id":"e1","id":"...","status_code":200}.
std::string responseNotification(const ResponseRow& r);
/// A PostgreSQL text[] literal: {"a","b\"c"}.
std::string textArrayLiteral(const std::vector<std::string>& values);

class Store {
 public:
  explicit Store(const Options& options) : options_(options) {}

  /// Creates the staging tables on a fresh connection (they live as long as it does) and forgets
  /// what it knew about the edges' rows.
  VoidResult prepare(pg::Connection& db);
  /// Stores the batch atomically. On error nothing is stored (the transaction rolled back).
  Result<StoreStats> write(pg::Connection& db, const Batch& batch);

 private:
  const Options& options_;
  /// edge -> last_seen this store wrote (skips rewriting edges rows that would not change).
  std::unordered_map<std::string, int64_t> edgesWritten_;
};

}  // namespace edgelink::dispatcher
