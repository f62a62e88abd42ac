#include "jsonschema/violation_text.h"

#include <cctype>
#include <vector>

#include "jsonschema/json_util.h"
#include "jsonschema/schema_node.h"
#include "jsonschema/schema_validator.h"

namespace edgelink::jsonschema {

using rapidjson::SizeType;
using rapidjson::Value;

using Node = SchemaValidator::Node;

std::string typesText(uint8_t mask) {
  std::vector<const char*> names;
  if (mask & Node::kNull) {
    names.push_back("null");
  }
  if (mask & Node::kBoolean) {
    names.push_back("boolean");
  }
  if ((mask & Node::kNumber) != 0) {
    names.push_back("number");
  } else if (mask & Node::kInteger) {
    names.push_back("integer");
  }
  if (mask & Node::kString) {
    names.push_back("string");
  }
  if (mask & Node::kArray) {
    names.push_back("array");
  }
  if (mask & Node::kObject) {
    names.push_back("object");
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    out += (i == 0 ? "" : (i + 1 == names.size() ? " or " : ", "));
    out += names[i];
  }
  return out;
}

std::string numberText(double d) {
  if (d == static_cast<double>(static_cast<int64_t>(d))) {
    return std::to_string(static_cast<int64_t>(d));
  }
  return json::stringify(Value(d));
}

std::string rangeText(int64_t lo, int64_t hi) {
  if (lo >= 0 && hi >= 0) {
    return lo == hi ? std::to_string(lo) : std::to_string(lo) + ".." + std::to_string(hi);
  }
  return lo >= 0 ? "at least " + std::to_string(lo) : "at most " + std::to_string(hi);
}

// Finds `target` under `v` and appends its dotted path to `out` (only run after a failure, so
// the success path keeps no path bookkeeping).
bool findPath(const Value& v, const Value* target, std::string& out) {
  if (&v == target) {
    return true;
  }
  size_t mark = out.size();
  if (v.IsObject()) {
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      appendPathKey(out, m->name.GetString(), m->name.GetStringLength());
      if (findPath(m->value, target, out)) {
        return true;
      }
      out.resize(mark);
    }
  } else if (v.IsArray()) {
    for (SizeType i = 0; i < v.Size(); ++i) {
      out += "[" + std::to_string(i) + "]";
      if (findPath(v[i], target, out)) {
        return true;
      }
      out.resize(mark);
    }
  }
  return false;
}

void appendPathKey(std::string& path, const char* key, size_t len) {
  bool plain = len > 0;
  for (size_t i = 0; i < len && plain; ++i) {
    char c = key[i];
    plain = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  }
  if (plain) {
    path += '.';
    path.append(key, len);
    return;
  }
  path += '[';
  path += json::stringify(Value(rapidjson::StringRef(key, static_cast<SizeType>(len))));
  path += ']';
}

}  // namespace edgelink::jsonschema
