#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace edgelink {

/// HTTP-like status codes shared by every EdgeLink error and by the wire contract's
/// `overall_status_code`. Keeping one vocabulary means an error becomes a response without
/// translation tables.
enum class Status : int {
  kOk = 200,
  kBadRequest = 400,
  kUnauthorized = 401,
  kForbidden = 403,
  kNotFound = 404,
  kStale = 408,
  kConflict = 409,
  kTooLarge = 413,
  kInternal = 500,
  kUnavailable = 503,
  kTimeout = 504,
};

inline int toInt(Status s) {
  return static_cast<int>(s);
}

/// An error as a value: a status, a message for humans, and (when known) the field it is about,
/// written as a dotted path such as `request.body.edge_ssh_remote_port`.
struct Error {
  Status status = Status::kInternal;
  std::string message;
  std::string field;

  Error() = default;
  Error(Status s, std::string msg, std::string fld = {})
      : status(s), message(std::move(msg)), field(std::move(fld)) {}

  /// "field: message", or just the message when no field is known.
  std::string describe() const { return field.empty() ? message : field + ": " + message; }
};

/// Either a T or an error (an Error unless told otherwise). Per-message paths return these
/// instead of throwing.
template <class T, class E = Error>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(E error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  /// The value built in place from `args` (no move: for a value that is costly to move).
  template <class... A>
  explicit Result(std::in_place_index_t<0>, A&&... args)
      : v_(std::in_place_index<0>, std::forward<A>(args)...) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const E& error() const { return std::get<1>(v_); }
  E& error() { return std::get<1>(v_); }

 private:
  std::variant<T, E> v_;
};

/// Result of an operation with no value.
template <>
class [[nodiscard]] Result<void, Error> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

using VoidResult = Result<void>;

}  // namespace edgelink
