#pragma once

#include <rapidjson/document.h>
#include <rapidjson/schema.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/embedded_file.h"
#include "core/result.h"
#include "jsonschema/schema_validator.h"

namespace edgelink::envelope {

enum class Kind { kRequest, kResponse, kEvent };

/// One schema file, `$ref`s inlined, compiled twice: `validator` is what the decoder runs (fast,
/// EdgeLink's); `schema` is RapidJSON's own compilation, the reference the tests compare against
/// and what integrators' tools would use.
struct CompiledSchema {
  std::string path;  ///< e.g. "bodies/requests/frp_start.json"
  rapidjson::Document json;
  std::unique_ptr<jsonschema::SchemaValidator> validator;
  std::unique_ptr<rapidjson::SchemaDocument> schema;
};

/// The schemas under schemas/, compiled once. Thread-safe after construction (read-only).
class SchemaRegistry {
 public:
  /// Builds from files (path relative to schemas/ -> JSON text). Remote `$ref`s between the
  /// files are resolved by inlining, so each compiled schema is self-contained.
  static Result<std::unique_ptr<SchemaRegistry>> build(const std::vector<EmbeddedFile>& files);

  /// The registry of the schemas embedded in this binary at build time.
  static const SchemaRegistry& embedded();

  /// request.schema.json, response.schema.json or event.schema.json.
  const CompiledSchema& envelope(Kind kind) const;
  /// bodies/requests/<type>.json (kRequest), bodies/events/<type>.json (kEvent), or for
  /// responses bodies/responses/<type>.json when `success`, else bodies/responses/error.json.
  /// nullptr when there is no schema for that type (unknown types are not body-checked).
  const CompiledSchema* body(Kind kind, const std::string& type, bool success = true) const;
  /// Any schema by its path, nullptr if absent.
  const CompiledSchema* find(const std::string& path) const;
  /// Every schema path known.
  std::vector<std::string> paths() const;

 private:
  std::map<std::string, std::unique_ptr<CompiledSchema>> schemas_;
  const CompiledSchema* envelopes_[3] = {nullptr, nullptr, nullptr};
  /// Per kind (as Kind), the body schemas by type: looked up per message without building a
  /// path. bodies/responses/error.json is not in it (errorBody_).
  std::map<std::string, const CompiledSchema*, std::less<>> bodies_[3];
  const CompiledSchema* errorBody_ = nullptr;
};

/// The schema files compiled into this binary (generated at build time from schemas/).
const std::vector<EmbeddedFile>& embeddedSchemaFiles();

}  // namespace edgelink::envelope
