#pragma once

// How a violation reads (private to jsonschema/): the wording of what was expected, and the
// dotted path of the offending field, found only once validation has failed.

#include <rapidjson/document.h>

#include <cstdint>
#include <string>

namespace edgelink::jsonschema {

/// The JSON types in a `SchemaValidator::Node` type mask: "string or null".
std::string typesText(uint8_t mask);

/// A schema bound as written: "3", "0.5".
std::string numberText(double d);

/// A count bound: "2", "1..3", "at least 1", "at most 8" (a negative bound is absent).
std::string rangeText(int64_t lo, int64_t hi);

/// Finds `target` under `v` and appends its dotted path to `out`; false if it is not there.
bool findPath(const rapidjson::Value& v, const rapidjson::Value* target, std::string& out);

}  // namespace edgelink::jsonschema
