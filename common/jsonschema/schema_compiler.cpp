#include <algorithm>
#include <string>

#include "jsonschema/schema_node.h"

// The schema compiler: JSON Schema (draft-04 subset) objects into Nodes.

namespace edgelink::jsonschema {
namespace {

using rapidjson::SizeType;
using rapidjson::Value;

class Compiler {
 public:
  Compiler(std::deque<Node>& nodes, std::string name) : nodes_(nodes), name_(std::move(name)) {}

  Result<const Node*> compile(const Value& s, const std::string& where) {
    if (!s.IsObject()) {
      return fail(where, "a schema must be an object");
    }
    nodes_.emplace_back();
    Node& n = nodes_.back();
    n.json = &s;
    for (const auto& m : s.GetObject()) {
      std::string k(m.name.GetString(), m.name.GetStringLength());
      const Value& v = m.value;
      std::string at = where + "/" + k;
      if (k == "$schema" || k == "title" || k == "description" || k == "definitions" || k == "id" ||
          k == "default" || k == "examples") {
        continue;
      }
      if (k == "x-expected") {
        if (!v.IsString()) {
          return fail(at, "must be a string");
        }
        n.expected = v.GetString();
        continue;
      }
      n.unconstrained = false;
      if (auto r = valueKeyword(n, k, v, at); !r) {
        return r.error();
      }
    }
    return &n;
  }

  // Keywords on the value itself: its types, numbers and strings.
  VoidResult valueKeyword(Node& n, const std::string& k, const Value& v, const std::string& at) {
    if (k == "type") {
      auto r = types(v, at);
      if (!r) {
        return r.error();
      }
      n.types = *r;
    } else if (k == "enum") {
      if (!v.IsArray() || v.Empty()) {
        return fail(at, "must be a non-empty array");
      }
      n.enumValues = &v;
    } else if (k == "minimum" || k == "maximum") {
      if (!v.IsNumber()) {
        return fail(at, "must be a number");
      }
      (k == "minimum" ? n.hasMinimum : n.hasMaximum) = true;
      (k == "minimum" ? n.minimum : n.maximum) = v.GetDouble();
    } else if (k == "exclusiveMinimum" || k == "exclusiveMaximum") {
      if (!v.IsBool()) {
        return fail(at, "must be a boolean (draft-04)");
      }
      (k == "exclusiveMinimum" ? n.exclusiveMinimum : n.exclusiveMaximum) = v.GetBool();
    } else if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems" ||
               k == "minProperties" || k == "maxProperties") {
      if (!v.IsInt64() || v.GetInt64() < 0) {
        return fail(at, "must be a non-negative integer");
      }
      int64_t x = v.GetInt64();
      if (k == "minLength")
        n.minLength = x;
      if (k == "maxLength")
        n.maxLength = x;
      if (k == "minItems")
        n.minItems = x;
      if (k == "maxItems")
        n.maxItems = x;
      if (k == "minProperties")
        n.minProperties = x;
      if (k == "maxProperties")
        n.maxProperties = x;
    } else if (k == "pattern") {
      if (!v.IsString()) {
        return fail(at, "must be a string");
      }
      auto p = Pattern::compile(v.GetString());
      if (!p) {
        return fail(at, p.error().message);
      }
      n.pattern = std::move(*p);
    } else {
      return structureKeyword(n, k, v, at);
    }
    return {};
  }

  // Keywords on what the value holds (members, items) and on other schemas.
  VoidResult structureKeyword(Node& n, const std::string& k, const Value& v,
                              const std::string& at) {
    if (k == "properties") {
      if (!v.IsObject()) {
        return fail(at, "must be an object");
      }
      for (const auto& p : v.GetObject()) {
        auto child = compile(p.value, at + "/" + p.name.GetString());
        if (!child) {
          return child.error();
        }
        n.properties.push_back({p.name.GetString(), *child, false});
      }
    } else if (k == "required") {
      if (!v.IsArray()) {
        return fail(at, "must be an array of names");
      }
      for (const auto& r : v.GetArray()) {
        if (!r.IsString()) {
          return fail(at, "must be an array of names");
        }
        requiredNames_.emplace_back(&n, r.GetString());
      }
    } else if (k == "patternProperties") {
      if (!v.IsObject()) {
        return fail(at, "must be an object");
      }
      for (const auto& p : v.GetObject()) {
        auto pat = Pattern::compile(p.name.GetString());
        if (!pat) {
          return fail(at, pat.error().message);
        }
        auto child = compile(p.value, at + "/" + p.name.GetString());
        if (!child) {
          return child.error();
        }
        n.patternProperties.emplace_back(std::move(*pat), *child);
      }
    } else if (k == "additionalProperties") {
      if (v.IsBool()) {
        n.additionalAllowed = v.GetBool();
      } else {
        auto child = compile(v, at);
        if (!child) {
          return child.error();
        }
        n.additional = *child;
      }
    } else if (k == "items") {
      if (!v.IsObject()) {
        return fail(at, "only a single schema is supported for items");
      }
      auto child = compile(v, at);
      if (!child) {
        return child.error();
      }
      n.items = *child;
    } else if (k == "allOf" || k == "anyOf" || k == "oneOf") {
      if (!v.IsArray() || v.Empty()) {
        return fail(at, "must be a non-empty array of schemas");
      }
      auto& list = k == "allOf" ? n.allOf : (k == "anyOf" ? n.anyOf : n.oneOf);
      for (SizeType i = 0; i < v.Size(); ++i) {
        auto child = compile(v[i], at + "/" + std::to_string(i));
        if (!child) {
          return child.error();
        }
        list.push_back(*child);
      }
    } else if (k == "not") {
      auto child = compile(v, at);
      if (!child) {
        return child.error();
      }
      n.notNode = *child;
      n.never = (*child)->unconstrained;
    } else if (k == "$ref") {
      return fail(at, "$ref must be inlined before compiling");
    } else {
      return fail(at, "unsupported keyword '" + k + "'");
    }
    return {};
  }

  // `required` names become flagged properties (added when the schema gives no property).
  void finish() {
    for (auto& [node, required] : requiredNames_) {
      const std::string& name = required;  // a lambda cannot capture a structured binding (C++17)
      auto it = std::find_if(node->properties.begin(), node->properties.end(),
                             [&](const Node::Property& p) { return p.name == name; });
      if (it == node->properties.end()) {
        node->properties.push_back({name, nullptr, true});
      } else {
        it->required = true;
      }
      ++node->requiredCount;
    }
    for (Node& n : nodes_) {
      finishNode(n);
    }
  }

 private:
  // What the validator precomputes per node: keyword families, required mask, length index.
  static void finishNode(Node& n) {
    n.byLengthStart.clear();
    n.byLength.clear();
    n.families = static_cast<uint8_t>(
        (n.hasMinimum || n.hasMaximum ? Node::kNumberChecks : 0) |
        (n.minLength >= 0 || n.maxLength >= 0 || n.pattern ? Node::kStringChecks : 0) |
        (n.minItems >= 0 || n.maxItems >= 0 || n.minProperties >= 0 || n.maxProperties >= 0
             ? Node::kCountChecks
             : 0) |
        (!n.allOf.empty() || !n.anyOf.empty() || !n.oneOf.empty() || n.notNode != nullptr
             ? Node::kCombinators
             : 0));
    n.requiredMask = 0;
    n.requiredBeyondMask = false;
    for (size_t i = 0; i < n.properties.size(); ++i) {
      if (!n.properties[i].required) {
        continue;
      }
      if (i < 64) {
        n.requiredMask |= uint64_t{1} << i;
      } else {
        n.requiredBeyondMask = true;
      }
    }
    size_t longest = 0;
    for (const auto& p : n.properties) {
      longest = std::max(longest, p.name.size());
    }
    if (n.properties.empty()) {
      return;
    }
    n.byLengthStart.assign(longest + 2, 0);
    for (const auto& p : n.properties) {
      ++n.byLengthStart[p.name.size() + 1];
    }
    for (size_t len = 1; len < n.byLengthStart.size(); ++len) {
      n.byLengthStart[len] += n.byLengthStart[len - 1];
    }
    n.byLength.resize(n.properties.size());
    std::vector<uint32_t> next(n.byLengthStart.begin(), n.byLengthStart.end() - 1);
    for (size_t i = 0; i < n.properties.size(); ++i) {
      n.byLength[next[n.properties[i].name.size()]++] = static_cast<uint32_t>(i);
    }
  }

  Error fail(const std::string& where, const std::string& what) const {
    return Error(Status::kInternal, "schema " + name_ + " at #" + where + ": " + what);
  }

  Result<uint8_t> types(const Value& v, const std::string& at) const {
    auto one = [&](const Value& t) -> Result<uint8_t> {
      if (!t.IsString()) {
        return fail(at, "type names must be strings");
      }
      std::string s = t.GetString();
      if (s == "null")
        return uint8_t{Node::kNull};
      if (s == "boolean")
        return uint8_t{Node::kBoolean};
      if (s == "integer")
        return uint8_t{Node::kInteger};
      if (s == "number")
        return uint8_t{Node::kNumber | Node::kInteger};
      if (s == "string")
        return uint8_t{Node::kString};
      if (s == "array")
        return uint8_t{Node::kArray};
      if (s == "object")
        return uint8_t{Node::kObject};
      return fail(at, "unknown type '" + s + "'");
    };
    if (v.IsArray()) {
      uint8_t mask = 0;
      for (const auto& t : v.GetArray()) {
        auto r = one(t);
        if (!r) {
          return r;
        }
        mask |= *r;
      }
      return mask;
    }
    return one(v);
  }

  std::deque<Node>& nodes_;
  std::string name_;
  std::vector<std::pair<Node*, std::string>> requiredNames_;
};

}  // namespace

Result<const Node*> compileSchema(std::deque<Node>& nodes, const Value& schema,
                                  const std::string& name) {
  Compiler c(nodes, name);
  auto root = c.compile(schema, "");
  if (!root) {
    return root.error();
  }
  c.finish();
  return root;
}

}  // namespace edgelink::jsonschema
