#include "db/pg.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include "core/clock.h"
#include "core/logging.h"
#include "core/strings.h"
#include "core/time_format.h"

namespace edgelink::dispatcher::pg {
namespace {

std::string trimmed(const char* text) {
  return text == nullptr ? std::string() : std::string(trim(text));
}

// Server notices (e.g. "relation ... already exists, skipping") go to the debug log, not stderr.
void noticeToLog(void* /*arg*/, const char* message) noexcept {
  try {
    static auto logger = log::get("db");
    logger->debug("PostgreSQL: {}", trimmed(message));
  } catch (...) {  // NOLINT(bugprone-empty-catch): nothing may unwind into libpq
  }
}

}  // namespace

Status statusForSqlState(std::string_view s) {
  if (s.size() != 5) {
    return Status::kUnavailable;  // no SQLSTATE: libpq lost the connection
  }
  std::string_view cls = s.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57" || s == "55P03") {
    return Status::kUnavailable;
  }
  if (cls == "40") {
    return Status::kConflict;
  }
  if (cls == "22" || cls == "23" || cls == "54") {
    return Status::kBadRequest;
  }
  return Status::kInternal;
}

int64_t Rows::int64(int row, int col) const {
  if (isNull(row, col)) {
    return 0;
  }
  auto v = parseInt64(view(row, col));
  return v ? *v : 0;
}

int64_t Rows::affected() const {
  if (!r_) {
    return 0;
  }
  auto v = parseInt64(PQcmdTuples(r_.get()));
  return v ? *v : 0;
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& conninfo,
                                                     const std::string& applicationName) {
  // Keywords are processed in order and the last wins: our defaults first, the user's string
  // (expanded from dbname) after them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"10", applicationName.c_str(), conninfo.c_str(), nullptr};
  std::unique_ptr<Connection> c(new Connection());
  c->c_.reset(PQconnectdbParams(keys, values, 1));
  if (!c->c_) {
    return Error(Status::kUnavailable, "PostgreSQL: out of memory creating a connection");
  }
  if (PQstatus(c->c_.get()) != CONNECTION_OK) {
    return Error(Status::kUnavailable,
                 "cannot connect to PostgreSQL: " + trimmed(PQerrorMessage(c->c_.get())));
  }
  PQsetNoticeProcessor(c->c_.get(), &noticeToLog, nullptr);
  // Timestamps cross the wire as UTC text.
  if (auto r = c->run("SET TIME ZONE 'UTC'"); !r) {
    return r.error();
  }
  return c;
}

Error Connection::errorFrom(const PGresult* r, const std::string& context) const {
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  std::string message = r != nullptr ? trimmed(PQresultErrorMessage(r)) : "";
  if (message.empty()) {
    message = trimmed(PQerrorMessage(c_.get()));
  }
  Status status = statusForSqlState(sqlstate);
  if (!healthy()) {
    status = Status::kUnavailable;
  }
  Error e(status, context + (message.empty() ? "" : ": " + message), sqlstate);
  return e;
}

Result<Rows> Connection::exec(const std::string& sql, const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) {
    values.push_back(p ? p->c_str() : nullptr);
  }
  ResultPtr r(PQexecParams(c_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                           values.data(), nullptr, nullptr, 0));
  auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string head = sql.substr(0, sql.find_first_of("\n("));
    return errorFrom(r.get(), "PostgreSQL (" + std::string(trim(head)).substr(0, 60) + ")");
  }
  return Rows(std::move(r));
}

VoidResult Connection::run(const std::string& sql) {
  auto tag = runTag(sql);
  if (!tag) {
    return tag.error();
  }
  return {};
}

Result<std::string> Connection::runTag(const std::string& sql) {
  ResultPtr r(PQexec(c_.get(), sql.c_str()));
  auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return errorFrom(r.get(), "PostgreSQL");
  }
  return std::string(PQcmdStatus(r.get()));
}

VoidResult Connection::copyIn(const std::string& copySql, std::string_view data) {
  ResultPtr start(PQexec(c_.get(), copySql.c_str()));
  if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) {
    return errorFrom(start.get(), "PostgreSQL COPY");
  }
  constexpr size_t kChunk = 1 << 20;
  bool sendFailed = false;
  for (size_t off = 0; off < data.size(); off += kChunk) {
    size_t n = std::min(kChunk, data.size() - off);
    if (PQputCopyData(c_.get(), data.data() + off, static_cast<int>(n)) != 1) {
      sendFailed = true;
      break;
    }
  }
  if (PQputCopyEnd(c_.get(), sendFailed ? "send failed" : nullptr) != 1) {
    sendFailed = true;
  }
  std::optional<Error> failure;
  while (ResultPtr r{PQgetResult(c_.get())}) {
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK && !failure) {
      failure = errorFrom(r.get(), "PostgreSQL COPY");
    }
  }
  if (failure) {
    return *failure;
  }
  if (sendFailed) {
    return Error(Status::kUnavailable,
                 "PostgreSQL COPY: sending data failed: " + trimmed(PQerrorMessage(c_.get())));
  }
  return {};
}

std::string Connection::quoteIdentifier(const std::string& name) const {
  char* q = PQescapeIdentifier(c_.get(), name.c_str(), name.size());
  if (q == nullptr) {
    return "\"\"";
  }
  std::string out = q;
  PQfreemem(q);
  return out;
}

VoidResult Connection::listen(const std::string& channel) {
  return run("LISTEN " + quoteIdentifier(channel));
}

Result<std::optional<Notification>> Connection::waitNotification(int timeoutMs) {
  auto take = [this]() -> std::optional<Notification> {
    PGnotify* n = PQnotifies(c_.get());
    if (n == nullptr) {
      return std::nullopt;
    }
    Notification out{n->relname, n->extra != nullptr ? n->extra : "", n->be_pid};
    PQfreemem(n);
    return out;
  };
  if (auto n = take()) {
    return n;
  }
  const auto& clock = SystemClock::instance();
  const int64_t deadline = clock.monoMs() + std::max(0, timeoutMs);
  for (;;) {
    if (PQconsumeInput(c_.get()) != 1) {
      return Error(Status::kUnavailable,
                   "PostgreSQL connection lost: " + trimmed(PQerrorMessage(c_.get())));
    }
    if (auto n = take()) {
      return n;
    }
    int64_t left = deadline - clock.monoMs();
    if (left <= 0) {
      return std::optional<Notification>();
    }
    pollfd pfd{PQsocket(c_.get()), POLLIN, 0};
    int rc = ::poll(&pfd, 1, static_cast<int>(left));
    if (rc < 0 && errno != EINTR) {
      return Error(Status::kUnavailable,
                   std::string("poll on PostgreSQL socket: ") + std::strerror(errno));
    }
  }
}

Result<std::unique_ptr<Transaction>> Transaction::begin(Connection& c) {
  if (auto r = c.run("BEGIN"); !r) {
    return r.error();
  }
  return std::unique_ptr<Transaction>(new Transaction(c));
}

Transaction::~Transaction() {
  if (!done_ && c_.healthy()) {
    (void)c_.run("ROLLBACK");
  }
}

VoidResult Transaction::commit() {
  done_ = true;
  auto tag = c_.runTag("COMMIT");
  if (!tag) {
    return tag.error();
  }
  // PostgreSQL answers COMMIT on a transaction a statement failed in with success and the tag
  // ROLLBACK: nothing was stored, and whoever commits Kafka offsets next must not.
  if (*tag != "COMMIT") {
    return Error(Status::kInternal, "PostgreSQL rolled the transaction back at COMMIT (" + *tag +
                                        "): an earlier statement in it had failed");
  }
  return {};
}

std::string timestampParam(int64_t epochMs) {
  // formatRfc3339Ms gives "...Z", which timestamptz input accepts.
  return formatRfc3339Ms(epochMs);
}

}  // namespace edgelink::dispatcher::pg
