#pragma once

#include <rapidjson/document.h>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "jsonschema/pattern.h"

namespace edgelink::jsonschema {

/// A JSON Schema (draft-04 subset) compiled for speed: the validator the decoder runs on every
/// message. It understands exactly the keywords our schema files use and refuses to compile a
/// schema with any other, so no constraint is ever silently skipped. RapidJSON's own validator
/// is the reference: tests/unit/envelope/schema_validator_test.cpp checks both agree.
///
/// Supported: type, enum, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
/// maxLength, pattern, properties, required, patternProperties, additionalProperties,
/// minProperties, maxProperties, items (one schema), minItems, maxItems, allOf, anyOf, oneOf,
/// not. Annotations: $schema, title, description, definitions, x-expected (error wording).
/// `$ref` must already be inlined (SchemaRegistry does).
class SchemaValidator {
 public:
  /// Compiles `schema`, which must outlive this object.
  static Result<std::unique_ptr<SchemaValidator>> compile(const rapidjson::Value& schema,
                                                          const std::string& name);

  /// A failed validation: the offending field as a dotted path under `prefix`
  /// ("request.body.actions[0].name") and what is wrong.
  struct Violation {
    std::string field;
    std::string message;
  };

  /// Validates `value`; also rejects duplicate object keys anywhere below it. The subtree at
  /// `skip` (if any) is not visited (the decoder checks the body separately).
  std::optional<Violation> validate(const rapidjson::Value& value, const std::string& prefix,
                                    const rapidjson::Value* skip = nullptr) const;

  struct Node;
  SchemaValidator();
  ~SchemaValidator();

 private:
  std::deque<Node> nodes_;
  const Node* root_ = nullptr;
};

/// Dotted-path rendering of one object key: ".name", or `["..."]` (JSON-escaped) for keys with
/// characters other than A-Z a-z 0-9 _ -, so hostile keys cannot forge log lines.
void appendPathKey(std::string& path, const char* key, size_t len);

}  // namespace edgelink::jsonschema
