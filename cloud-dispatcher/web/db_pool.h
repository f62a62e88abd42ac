#pragma once

// PostgreSQL connections for the console's requests: an idle one is reused, a new one opened
// when none is idle, a broken one dropped; at most `maxIdle` kept. RAII leases.

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "db/pg.h"

namespace edgelink::dispatcher::web {

class DbPool {
 public:
  DbPool(std::string conninfo, size_t maxIdle)
      : conninfo_(std::move(conninfo)), maxIdle_(maxIdle) {}

  class Lease {
   public:
    Lease(DbPool& pool, std::unique_ptr<pg::Connection> c) : pool_(&pool), c_(std::move(c)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), c_(std::move(o.c_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease() {
      if (c_) {
        pool_->giveBack(std::move(c_));
      }
    }
    pg::Connection& operator*() const { return *c_; }
    pg::Connection* operator->() const { return c_.get(); }

   private:
    DbPool* pool_;
    std::unique_ptr<pg::Connection> c_;
  };

  Result<Lease> acquire() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      while (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        if (c->healthy()) {
          return Lease(*this, std::move(c));
        }
      }
    }
    auto c = pg::Connection::open(conninfo_, "cloud-dispatcher-web");
    if (!c) {
      return c.error();
    }
    return Lease(*this, std::move(*c));
  }

 private:
  void giveBack(std::unique_ptr<pg::Connection> c) {
    // A connection left inside a failed transaction or mid-COPY is not reused.
    if (!c->healthy() || PQtransactionStatus(c->raw()) != PQTRANS_IDLE) {
      return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (idle_.size() < maxIdle_) {
      idle_.push_back(std::move(c));
    }
  }

  const std::string conninfo_;
  const size_t maxIdle_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<pg::Connection>> idle_;
};

}  // namespace edgelink::dispatcher::web
