#pragma once

// The answers to requests boards send to the cloud (recipient "cloud", docs/PROTOCOL.md
// "Edge->cloud requests"): a registry of handlers by request type, each a small function over
// PostgreSQL state read in the ingest batch's transaction (its logic pure beside it). An unknown
// type is answered 404 {"error": "unknown request type ..."}.

#include <functional>
#include <map>
#include <string>

#include "core/result.h"
#include "db/pg.h"
#include "domain/model.h"

namespace edgelink::dispatcher {

/// What the dispatcher answers: the response's status code and body (a JSON object).
struct EdgeAnswer {
  int statusCode = 200;
  std::string bodyJson = "{}";
};

/// A handler: the answer to one request, read from the database (inside the batch's
/// transaction). An error is a database failure: the batch is retried, nothing answered.
using EdgeRequestHandler =
    std::function<Result<EdgeAnswer>(pg::Connection& db, const EdgeRequestRow& request)>;

class EdgeRequestHandlers {
 public:
  /// The built-in handlers (get_config).
  static EdgeRequestHandlers builtIn();

  void add(const std::string& type, EdgeRequestHandler handler);
  /// The type's handler (null: none, answered 404).
  const EdgeRequestHandler* find(const std::string& type) const;
  /// The answer: the type's handler's, or 404 for a type without one.
  Result<EdgeAnswer> answer(pg::Connection& db, const EdgeRequestRow& request) const;

 private:
  std::map<std::string, EdgeRequestHandler> handlers_;
};

/// The 404 answer to a request type without a handler.
EdgeAnswer unknownTypeAnswer(const std::string& type);

/// get_config: the edge's merged remote configuration.
Result<EdgeAnswer> answerGetConfig(pg::Connection& db, const EdgeRequestRow& request);

/// The response envelope sent to the board: the request's id (its kind kept), type echoed,
/// `sender` the dispatcher's, no recipient, the answer's code and body.
std::string encodeEdgeAnswer(const EdgeRequestRow& request, int statusCode,
                             const std::string& bodyJson, const std::string& sender, int64_t nowMs);

}  // namespace edgelink::dispatcher
