#pragma once

// Writes a Batch to PostgreSQL in one transaction: each kind is COPYed (binary) into a temporary
// staging table and moved with INSERT ... SELECT ... ON CONFLICT DO NOTHING, so a redelivered
// batch changes nothing; responses notify `edgelink_response` as they are inserted; edges are
// upserted with GREATEST/LEAST; session effects follow, in message order, for what is new.

#include <cstddef>
#include <cstdint>

#include "core/result.h"
#include "model.h"
#include "options.h"
#include "pg.h"

namespace edgelink::dispatcher {

struct StoreStats {
  size_t sessionEffects = 0;
};

class Store {
 public:
  explicit Store(const Options& options) : options_(options) {}

  /// Creates the staging tables on a fresh connection (they live as long as it does).
  VoidResult prepare(pg::Connection& db) const;
  /// Stores the batch atomically. On error nothing is stored (the transaction rolled back).
  Result<StoreStats> write(pg::Connection& db, const Batch& batch) const;

 private:
  const Options& options_;
};

}  // namespace edgelink::dispatcher
