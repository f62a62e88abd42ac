#pragma once

// A compiled schema (private to jsonschema/): one Node per schema object, what the validator
// (schema_validator.cpp) walks, made by the compiler (schema_compiler.cpp).

#include <rapidjson/document.h>

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "jsonschema/pattern.h"
#include "jsonschema/schema_validator.h"

namespace edgelink::jsonschema {

struct SchemaValidator::Node {
  enum : uint8_t {
    kNull = 1,
    kBoolean = 2,
    kInteger = 4,
    kNumber = 8,
    kString = 16,
    kArray = 32,
    kObject = 64,
    kAll = 127
  };
  struct Property {
    std::string name;
    const Node* node = nullptr;  // nullptr: any value
    bool required = false;
  };

  const rapidjson::Value* json = nullptr;
  std::string expected;  // x-expected
  uint8_t types = kAll;
  bool hasMinimum = false, hasMaximum = false, exclusiveMinimum = false, exclusiveMaximum = false;
  double minimum = 0, maximum = 0;
  int64_t minLength = -1, maxLength = -1;
  std::optional<Pattern> pattern;
  const rapidjson::Value* enumValues = nullptr;
  std::vector<Property> properties;
  size_t requiredCount = 0;
  // properties by name length, for lookup: the indices of those of length L are
  // byLength[byLengthStart[L]] .. byLength[byLengthStart[L + 1] - 1], in declaration order
  // (lengths past the last entry of byLengthStart have none). Filled by the compiler.
  std::vector<uint32_t> byLengthStart;
  std::vector<uint32_t> byLength;
  // Required properties among the first 64 (bit i: properties[i]); whether any further one is.
  uint64_t requiredMask = 0;
  bool requiredBeyondMask = false;
  // Which keyword families of checkHere this node has (kNumberChecks...): the others are skipped.
  enum : uint8_t { kNumberChecks = 1, kStringChecks = 2, kCountChecks = 4, kCombinators = 8 };
  uint8_t families = 0;
  std::vector<std::pair<Pattern, const Node*>> patternProperties;
  bool additionalAllowed = true;
  const Node* additional = nullptr;
  int64_t minProperties = -1, maxProperties = -1;
  const Node* items = nullptr;
  int64_t minItems = -1, maxItems = -1;
  std::vector<const Node*> allOf, anyOf, oneOf;
  const Node* notNode = nullptr;
  bool unconstrained = true;  // no keyword at all: matches everything
  bool never = false;         // {"not": {}}: matches nothing
};

using Node = SchemaValidator::Node;

/// Compiles `schema` (named `name` in errors) into `nodes`; the root node. Keywords beyond the
/// supported draft-04 subset are refused (kInternal naming the keyword and where).
Result<const Node*> compileSchema(std::deque<Node>& nodes, const rapidjson::Value& schema,
                                  const std::string& name);

}  // namespace edgelink::jsonschema
