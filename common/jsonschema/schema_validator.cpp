#include "jsonschema/schema_validator.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "jsonschema/json_util.h"
#include "jsonschema/schema_node.h"
#include "jsonschema/violation_text.h"

namespace edgelink::jsonschema {

using rapidjson::SizeType;
using rapidjson::Value;

using Node = SchemaValidator::Node;

namespace {

// ----------------------------------------------------------------------------------------------
// Validation

// Short keys compare faster inline than through a memcmp call: whole words (the last one may
// overlap the one before), bytes only below 4.
template <class Word>
inline bool sameWord(const char* a, const char* b) {
  Word x, y;
  std::memcpy(&x, a, sizeof x);
  std::memcpy(&y, b, sizeof y);
  return x == y;
}

inline bool sameBytes(const char* a, const char* b, size_t len) {
  if (len >= 8) {
    for (size_t i = 0; i + 8 < len; i += 8) {
      if (!sameWord<uint64_t>(a + i, b + i)) {
        return false;
      }
    }
    return sameWord<uint64_t>(a + len - 8, b + len - 8);
  }
  if (len >= 4) {
    return sameWord<uint32_t>(a, b) && sameWord<uint32_t>(a + len - 4, b + len - 4);
  }
  for (size_t i = 0; i < len; ++i) {
    if (a[i] != b[i]) {
      return false;
    }
  }
  return true;
}

uint8_t typeBit(const Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType:
      return Node::kNull;
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return Node::kBoolean;
    case rapidjson::kObjectType:
      return Node::kObject;
    case rapidjson::kArrayType:
      return Node::kArray;
    case rapidjson::kStringType:
      return Node::kString;
    case rapidjson::kNumberType:
      return v.IsInt64() || v.IsUint64() ? Node::kInteger : Node::kNumber;
  }
  return 0;
}

size_t codePoints(const Value& s) {
  size_t count = 0;
  const char* p = s.GetString();
  for (SizeType i = 0; i < s.GetStringLength(); ++i) {
    if ((static_cast<unsigned char>(p[i]) & 0xC0) != 0x80) {
      ++count;
    }
  }
  return count;
}

class Run {
 public:
  Run(const Value& root, const std::string& prefix, const Value* skip)
      : root_(root), prefix_(prefix), skip_(skip) {}

  // Validates v against n (nullptr: anything). In quiet mode (anyOf/oneOf/not branches)
  // no message is built.
  bool check(const Node* n, const Value& v, bool quiet) {
    if (&v == skip_) {
      return true;
    }
    if (n != nullptr && n->never) {
      return quiet ? false : fail(quiet, v, "unexpected value " + json::preview(v));
    }
    if (n != nullptr && !n->unconstrained && !passesPlainly(*n, v) && !checkHere(*n, v, quiet)) {
      return false;
    }
    if (v.IsObject()) {
      return checkObject(n, v, quiet);
    }
    if (v.IsArray()) {
      const Node* items = n ? n->items : nullptr;
      for (SizeType i = 0; i < v.Size(); ++i) {
        if (!check(items, v[i], quiet)) {
          return false;
        }
      }
    }
    return true;
  }

  std::optional<SchemaValidator::Violation> violation;

 private:
  // Records the first failure: `at` is the offending value (or the object owning `key`).
  bool fail(bool quiet, const Value& at, std::string message, const char* key = nullptr,
            size_t len = 0) {
    if (!quiet && !violation) {
      std::string field = prefix_;
      findPath(root_, &at, field);
      if (key != nullptr) {
        appendPathKey(field, key, len);
      }
      violation = SchemaValidator::Violation{std::move(field), std::move(message)};
    }
    return false;
  }

  std::string expected(const Node& n, const std::string& fallback) const {
    return n.expected.empty() ? fallback : n.expected;
  }

  // A string of B bytes holds between ceil(B/4) and B code points: they need counting only when
  // the byte length cannot settle n's length bounds.
  [[gnu::always_inline]] static bool lengthNeedsCounting(const Node& n, const Value& v) {
    const auto bytes = static_cast<int64_t>(v.GetStringLength());
    return (n.minLength >= 0 && (bytes + 3) / 4 < n.minLength) ||
           (n.maxLength >= 0 && bytes > n.maxLength);
  }

  // True when v surely satisfies n's own keywords and n has only type, string and number ones: the
  // common leaf, checked here without checkHere's call. False means "not sure": checkHere then
  // checks (and words any failure) from scratch, so the outcome is the same either way.
  [[gnu::always_inline]] static bool passesPlainly(const Node& n, const Value& v) {
    if ((n.families & (Node::kCountChecks | Node::kCombinators)) != 0 || n.enumValues != nullptr ||
        (n.types & typeBit(v)) == 0) {
      return false;
    }
    if ((n.families & Node::kNumberChecks) != 0 && v.IsNumber() && outOfBounds(n, v)) {
      return false;
    }
    if ((n.families & Node::kStringChecks) != 0 && v.IsString()) {
      if (lengthNeedsCounting(n, v)) {
        return false;  // code points are counted there
      }
      if (n.pattern && !n.pattern->search(std::string_view(v.GetString(), v.GetStringLength()))) {
        return false;
      }
    }
    return true;
  }

  // Keywords about v itself (not its members), one family after the other; Node::families says
  // which families the node has at all, the others are skipped. The families run on every value:
  // they are inlined here (GCC left the larger ones as calls, +3% instructions per message in
  // bench_envelope).
  bool checkHere(const Node& n, const Value& v, bool quiet) {
    const uint8_t f = n.families;
    return checkTypeAndEnum(n, v, quiet) &&
           ((f & Node::kNumberChecks) == 0 || checkNumber(n, v, quiet)) &&
           ((f & Node::kStringChecks) == 0 || checkString(n, v, quiet)) &&
           ((f & Node::kCountChecks) == 0 || checkCounts(n, v, quiet)) &&
           ((f & Node::kCombinators) == 0 || checkCombinators(n, v, quiet));
  }

  // type, enum.
  [[gnu::always_inline]] bool checkTypeAndEnum(const Node& n, const Value& v, bool quiet) {
    if ((n.types & typeBit(v)) == 0) {
      return quiet ? false
                   : fail(quiet, v,
                          "expected " + expected(n, typesText(n.types)) + ", got " +
                              json::typeName(v));
    }
    if (n.enumValues != nullptr) {
      const auto values = n.enumValues->GetArray();
      if (std::find(values.begin(), values.end(), v) == values.end()) {
        if (quiet) {
          return false;
        }
        std::string list;
        for (const auto& e : values) {
          list += (list.empty() ? "" : ", ") + json::stringify(e);
        }
        return fail(quiet, v, "expected one of " + list + ", got " + json::preview(v));
      }
    }
    return true;
  }

  // Whether the number v breaks n's minimum/maximum (exclusive or not).
  [[gnu::always_inline]] static bool outOfBounds(const Node& n, const Value& v) {
    bool low = false, high = false;
    if (v.IsInt64() || v.IsUint64()) {
      // Exact for integers: compare in the integer domain when the bound is integral.
      long double x = v.IsInt64() ? static_cast<long double>(v.GetInt64())
                                  : static_cast<long double>(v.GetUint64());
      low = n.hasMinimum && (n.exclusiveMinimum ? x <= n.minimum : x < n.minimum);
      high = n.hasMaximum && (n.exclusiveMaximum ? x >= n.maximum : x > n.maximum);
    } else {
      double x = v.GetDouble();
      low = n.hasMinimum && (n.exclusiveMinimum ? x <= n.minimum : x < n.minimum);
      high = n.hasMaximum && (n.exclusiveMaximum ? x >= n.maximum : x > n.maximum);
    }
    return low || high;
  }

  // minimum, maximum, exclusiveMinimum, exclusiveMaximum.
  [[gnu::always_inline]] bool checkNumber(const Node& n, const Value& v, bool quiet) {
    if (!v.IsNumber() || !(n.hasMinimum || n.hasMaximum) || !outOfBounds(n, v)) {
      return true;
    }
    std::string range =
        n.hasMinimum && n.hasMaximum
            ? "in " + numberText(n.minimum) + ".." + numberText(n.maximum)
            : (n.hasMinimum ? ">= " + numberText(n.minimum) : "<= " + numberText(n.maximum));
    return quiet
               ? false
               : fail(quiet, v,
                      "expected " + expected(n, "a number " + range) + ", got " + json::preview(v));
  }

  // minLength, maxLength, pattern.
  [[gnu::always_inline]] bool checkString(const Node& n, const Value& v, bool quiet) {
    if (!v.IsString()) {
      return true;
    }
    if (lengthNeedsCounting(n, v)) {
      auto len = static_cast<int64_t>(codePoints(v));
      if ((n.minLength >= 0 && len < n.minLength) || (n.maxLength >= 0 && len > n.maxLength)) {
        return quiet ? false
                     : fail(quiet, v,
                            "expected " +
                                expected(n, "a string of " + rangeText(n.minLength, n.maxLength) +
                                                " characters") +
                                ", got a string of " + std::to_string(len) + " characters");
      }
    }
    if (n.pattern && !n.pattern->search(std::string_view(v.GetString(), v.GetStringLength()))) {
      return quiet ? false
                   : fail(quiet, v,
                          "expected " + expected(n, "a string matching " + n.pattern->source()) +
                              ", got " + json::preview(v));
    }
    return true;
  }

  // minItems, maxItems, minProperties, maxProperties.
  [[gnu::always_inline]] bool checkCounts(const Node& n, const Value& v, bool quiet) {
    if (v.IsArray() && (n.minItems >= 0 || n.maxItems >= 0)) {
      auto size = static_cast<int64_t>(v.Size());
      if ((n.minItems >= 0 && size < n.minItems) || (n.maxItems >= 0 && size > n.maxItems)) {
        return quiet
                   ? false
                   : fail(quiet, v,
                          "expected " + expected(n, rangeText(n.minItems, n.maxItems) + " items") +
                              ", got " + std::to_string(size) + " items");
      }
    }
    if (v.IsObject() && (n.minProperties >= 0 || n.maxProperties >= 0)) {
      auto size = static_cast<int64_t>(v.MemberCount());
      if ((n.minProperties >= 0 && size < n.minProperties) ||
          (n.maxProperties >= 0 && size > n.maxProperties)) {
        return quiet ? false
                     : fail(quiet, v,
                            "expected " +
                                expected(n,
                                         rangeText(n.minProperties, n.maxProperties) + " members") +
                                ", got " + std::to_string(size) + " members");
      }
    }
    return true;
  }

  // allOf, anyOf, oneOf, not.
  [[gnu::always_inline]] bool checkCombinators(const Node& n, const Value& v, bool quiet) {
    for (const Node* sub : n.allOf) {
      if (!check(sub, v, quiet)) {
        return false;
      }
    }
    if (!n.anyOf.empty()) {
      bool any = false;
      for (const Node* sub : n.anyOf) {
        if (check(sub, v, true)) {
          any = true;
          break;
        }
      }
      if (!any) {
        return quiet ? false
                     : fail(quiet, v,
                            "expected " + expected(n, "a value matching one of the alternatives") +
                                ", got " + json::preview(v));
      }
    }
    if (!n.oneOf.empty()) {
      int matches = 0;
      for (const Node* sub : n.oneOf) {
        matches += check(sub, v, true) ? 1 : 0;
      }
      if (matches != 1) {
        return quiet
                   ? false
                   : fail(quiet, v,
                          "expected " +
                              expected(n, "a value matching exactly one of the alternatives") +
                              ", got " + json::preview(v) + " matching " + std::to_string(matches));
      }
    }
    if (n.notNode != nullptr && !n.never && check(n.notNode, v, true)) {
      return quiet ? false
                   : fail(quiet, v,
                          "expected " + expected(n, "a value not matching the excluded schema") +
                              ", got " + json::preview(v));
    }
    return true;
  }

  bool checkObject(const Node* n, const Value& v, bool quiet) {
    uint64_t seen = 0;  // bit i: properties[i] present; a second hit is a duplicate key
    size_t undeclared = 0;
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      const char* key = m->name.GetString();
      const size_t len = m->name.GetStringLength();
      bool ok = true;
      bool covered = false;
      bool declared = false;
      if (n != nullptr) {
        // Only the properties whose names have this length (see Node::byLengthStart).
        const size_t lengths = n->byLengthStart.size();
        const uint32_t* order = n->byLength.data();
        const uint32_t from = len + 1 < lengths ? n->byLengthStart[len] : 0;
        const uint32_t to = len + 1 < lengths ? n->byLengthStart[len + 1] : 0;
        for (uint32_t k = from; k < to; ++k) {
          const size_t i = order[k];
          const auto& p = n->properties[i];
          if (sameBytes(p.name.data(), key, len)) {
            covered = declared = true;
            if (i < 64) {
              if ((seen >> i) & 1) {
                return quiet ? false : fail(quiet, v, "duplicate key", key, len);
              }
              seen |= uint64_t{1} << i;
            } else {
              declared = false;  // beyond the bitmask: leave it to the pairwise check
            }
            ok = check(p.node, m->value, quiet);
            break;
          }
        }
        for (size_t i = 0; ok && i < n->patternProperties.size(); ++i) {
          const auto& [pattern, sub] = n->patternProperties[i];
          if (pattern.search(std::string_view(key, len))) {
            covered = true;
            ok = check(sub, m->value, quiet);
          }
        }
        if (ok && !covered) {
          if (!n->additionalAllowed || (n->additional != nullptr && n->additional->never)) {
            const Node* why = n->additional != nullptr ? n->additional : n;
            return quiet ? false
                         : fail(quiet, v,
                                "unexpected key " +
                                    json::stringify(Value(
                                        rapidjson::StringRef(key, static_cast<SizeType>(len)))) +
                                    (why->expected.empty() ? ""
                                                           : " (expected " + why->expected + ")"));
          }
          covered = n->additional != nullptr;
          ok = check(n->additional, m->value, quiet);
        }
      }
      if (ok && !covered) {
        ok = check(nullptr, m->value, quiet);  // still walked: duplicate keys below
      }
      if (!ok) {
        return false;
      }
      undeclared += declared ? 0 : 1;
    }
    if (undeclared >= 2 && !checkDuplicates(v, n, quiet)) {
      return false;
    }
    if (n != nullptr && n->requiredCount > 0 &&
        ((seen & n->requiredMask) != n->requiredMask || n->requiredBeyondMask)) {
      for (size_t i = 0; i < n->properties.size(); ++i) {
        const auto& p = n->properties[i];
        bool present = i < 64 ? (seen >> i) & 1 : v.HasMember(p.name.c_str());
        if (p.required && !present) {
          std::string want = p.node != nullptr ? p.node->expected : std::string();
          return quiet ? false
                       : fail(quiet, v,
                              "required field missing" + (want.empty() ? "" : " (" + want + ")"),
                              p.name.c_str(), p.name.size());
        }
      }
    }
    return true;
  }

  // Whether `name` is one of the first 64 declared properties of `n` (those the bitmask in
  // checkObject already checked for repeats).
  static bool declaredInMask(const Node* n, const Value& name) {
    if (n == nullptr) {
      return false;
    }
    for (size_t i = 0; i < n->properties.size() && i < 64; ++i) {
      const auto& p = n->properties[i];
      if (p.name.size() == name.GetStringLength() &&
          std::memcmp(p.name.data(), name.GetString(), p.name.size()) == 0) {
        return true;
      }
    }
    return false;
  }

  // Repeated keys among the members checkObject's bitmask did not cover.
  bool checkDuplicates(const Value& v, const Node* node, bool quiet) {
    auto same = [](const Value& a, const Value& b) {
      return a.GetStringLength() == b.GetStringLength() &&
             std::memcmp(a.GetString(), b.GetString(), a.GetStringLength()) == 0;
    };
    std::vector<const Value*> names;
    names.reserve(v.MemberCount());
    for (auto m = v.MemberBegin(); m != v.MemberEnd(); ++m) {
      if (!declaredInMask(node, m->name)) {
        names.push_back(&m->name);
      }
    }
    const size_t n = names.size();
    const Value* dup = nullptr;
    if (n <= 16) {
      for (size_t a = 0; a < n && dup == nullptr; ++a) {
        for (size_t b = a + 1; b < n; ++b) {
          if (same(*names[a], *names[b])) {
            dup = names[a];
            break;
          }
        }
      }
    } else {
      std::sort(names.begin(), names.end(), [](const Value* a, const Value* b) {
        return std::string_view(a->GetString(), a->GetStringLength()) <
               std::string_view(b->GetString(), b->GetStringLength());
      });
      for (size_t i = 1; i < names.size() && dup == nullptr; ++i) {
        if (same(*names[i - 1], *names[i])) {
          dup = names[i];
        }
      }
    }
    if (dup != nullptr) {
      return quiet ? false
                   : fail(quiet, v, "duplicate key", dup->GetString(), dup->GetStringLength());
    }
    return true;
  }

  const Value& root_;
  const std::string& prefix_;
  const Value* skip_;
};

}  // namespace

SchemaValidator::SchemaValidator() = default;
SchemaValidator::~SchemaValidator() = default;

Result<std::unique_ptr<SchemaValidator>> SchemaValidator::compile(const Value& schema,
                                                                  const std::string& name) {
  auto v = std::make_unique<SchemaValidator>();
  auto root = compileSchema(v->nodes_, schema, name);
  if (!root) {
    return root.error();
  }
  v->root_ = *root;
  return v;
}

std::optional<SchemaValidator::Violation> SchemaValidator::validate(const Value& value,
                                                                    const std::string& prefix,
                                                                    const Value* skip) const {
  Run run(value, prefix, skip);
  if (!run.check(root_, value, false)) {
    if (!run.violation) {
      return Violation{prefix, "does not match the schema"};
    }
    return run.violation;
  }
  return std::nullopt;
}

}  // namespace edgelink::jsonschema
