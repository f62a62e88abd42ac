#include "jsonschema/json_util.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace edgelink::json {

const char* typeName(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return v.IsInt64() || v.IsUint64() ? "integer" : "number";
  }
  return "unknown";
}

std::string stringify(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return std::string(sb.GetString(), sb.GetSize());
}

std::string preview(const rapidjson::Value& v, size_t maxChars) {
  if (v.IsObject() || v.IsArray()) {
    return typeName(v);
  }
  std::string s = stringify(v);
  if (s.size() > maxChars) {
    s = s.substr(0, maxChars) + "...";
  }
  return s;
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* key) {
  if (!obj.IsObject()) {
    return nullptr;
  }
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

const char* getString(const rapidjson::Value& obj, const char* key) {
  const auto* v = member(obj, key);
  return v && v->IsString() ? v->GetString() : nullptr;
}

}  // namespace edgelink::json
