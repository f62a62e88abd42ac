#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace edgelink::json {

/// "object", "array", "string", "integer", "number", "boolean", "null".
const char* typeName(const rapidjson::Value& v);

/// Compact JSON text of a value.
std::string stringify(const rapidjson::Value& v);

/// A short rendering for error messages: strings quoted and cut at `maxChars`, containers by type.
std::string preview(const rapidjson::Value& v, size_t maxChars = 40);

/// A JSON string value copied into `alloc`.
inline rapidjson::Value str(std::string_view s, rapidjson::Document::AllocatorType& alloc) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), alloc);
}

/// Member lookup helpers returning nullptr when absent or of another type.
const rapidjson::Value* member(const rapidjson::Value& obj, const char* key);
const char* getString(const rapidjson::Value& obj, const char* key);

}  // namespace edgelink::json
