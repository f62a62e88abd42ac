#pragma once

// A thin RAII layer over libpq. Errors are values: every call returns Result/VoidResult whose
// Error carries the SQLSTATE in `field` and a Status telling the caller what to do:
//   kUnavailable  the connection is gone or the server is refusing work (retry later);
//   kConflict     the transaction was rolled back by the server (serialization/deadlock: retry);
//   kBadRequest   the data was refused (classes 22, 23, 54: isolate the row);
//   kInternal     anything else (a bug, a permission): retry and say so loudly.
// libpq (rather than libpqxx) because the dispatcher needs COPY in binary, waiting for
// notifications with a timeout on the socket, and errors as values on its per-message paths.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgelink::dispatcher::pg {

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;
using ConnPtr = std::unique_ptr<PGconn, ConnDeleter>;

/// SQLSTATE codes the dispatcher reacts to.
inline constexpr const char* kUniqueViolation = "23505";

/// Query parameters in text form; nullopt is SQL NULL.
using Params = std::vector<std::optional<std::string>>;

/// Rows returned by a query (owns the PGresult).
class Rows {
 public:
  Rows() = default;
  explicit Rows(ResultPtr r) : r_(std::move(r)) {}

  int size() const { return r_ ? PQntuples(r_.get()) : 0; }
  bool empty() const { return size() == 0; }
  int columns() const { return r_ ? PQnfields(r_.get()) : 0; }
  std::string columnName(int col) const { return PQfname(r_.get(), col); }
  /// The column's type OID (16 bool, 20/21/23 integers, 114/3802 json/jsonb, 1184 timestamptz).
  Oid columnType(int col) const { return PQftype(r_.get(), col); }
  /// Index of a column by name, -1 when absent.
  int column(const char* name) const { return PQfnumber(r_.get(), name); }
  bool isNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view view(int row, int col) const {
    return std::string_view(PQgetvalue(r_.get(), row, col),
                            static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  std::string str(int row, int col) const { return std::string(view(row, col)); }
  std::optional<std::string> opt(int row, int col) const {
    return isNull(row, col) ? std::nullopt : std::optional<std::string>(str(row, col));
  }
  /// An integer column (0 when NULL or not a number).
  int64_t int64(int row, int col) const;
  /// A boolean column ('t').
  bool boolean(int row, int col) const { return !isNull(row, col) && view(row, col) == "t"; }
  /// Rows affected by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  ResultPtr r_;
};

struct Notification {
  std::string channel;
  std::string payload;
  int pid = 0;
};

/// One connection. Not thread-safe.
class Connection {
 public:
  /// Connects (blocking). `conninfo` is a libpq connection string or URI; empty uses PGHOST,
  /// PGPORT, PGUSER, PGDATABASE, ... A connect timeout of 10 s applies unless the string sets one.
  static Result<std::unique_ptr<Connection>> open(const std::string& conninfo,
                                                  const std::string& applicationName);
  ~Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  /// Runs one statement (parameters $1.. in text form).
  Result<Rows> exec(const std::string& sql, const Params& params = {});
  /// Runs statements without parameters (may hold several separated by ';').
  VoidResult run(const std::string& sql);
  /// The same, returning the command tag ("COMMIT", or "ROLLBACK" when COMMIT ended a
  /// transaction an earlier statement had failed).
  Result<std::string> runTag(const std::string& sql);
  /// Runs `copySql` (COPY ... FROM STDIN) and sends `data` as its input.
  VoidResult copyIn(const std::string& copySql, std::string_view data);

  /// LISTEN on a channel (quoted as an identifier).
  VoidResult listen(const std::string& channel);
  /// Waits up to `timeoutMs` for a notification (0: only what already arrived).
  Result<std::optional<Notification>> waitNotification(int timeoutMs);

  /// False once libpq considers the connection broken.
  bool healthy() const { return PQstatus(c_.get()) == CONNECTION_OK; }
  /// Server process id (for logs and tests).
  int backendPid() const { return PQbackendPID(c_.get()); }
  PGconn* raw() const { return c_.get(); }

  /// Quotes a string as an SQL identifier.
  std::string quoteIdentifier(const std::string& name) const;

 private:
  Connection() = default;
  Error errorFrom(const PGresult* r, const std::string& context) const;

  ConnPtr c_;
};

/// BEGIN on construction; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
 public:
  static Result<std::unique_ptr<Transaction>> begin(Connection& c);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  VoidResult commit();

 private:
  explicit Transaction(Connection& c) : c_(c) {}
  Connection& c_;
  bool done_ = false;
};

/// The Status for a SQLSTATE (see the comment at the top).
Status statusForSqlState(std::string_view sqlstate);

/// "2026-11-21 08:00:00.000+00" for epoch milliseconds (a timestamptz parameter).
std::string timestampParam(int64_t epochMs);

}  // namespace edgelink::dispatcher::pg
