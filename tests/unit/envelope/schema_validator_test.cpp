// The compiled SchemaValidator (what the decoder runs) must agree with RapidJSON's own
// SchemaValidator (the reference) on every schema file: checked on every example and on
// thousands of mutations of them (each value replaced by values of other types and ranges,
// each member removed, an unknown member added).
#include <dirent.h>
#include <rapidjson/schema.h>

#include <catch2/catch.hpp>
#include <functional>

#include "envelope/schema_registry.h"
#include "harness/test_util.h"
#include "jsonschema/json_util.h"

using namespace edgelink;
using namespace edgelink::envelope;
using namespace edgelink::jsonschema;
using rapidjson::Document;
using rapidjson::Value;

namespace {

std::vector<std::string> exampleTexts() {
  std::vector<std::string> out;
  for (const char* sub : {"/examples/valid/", "/examples/invalid/"}) {
    std::string dir = std::string(EDGELINK_SCHEMAS_DIR) + sub;
    DIR* d = opendir(dir.c_str());
    REQUIRE(d != nullptr);
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".json") {
        out.push_back(testing::readText(dir + n));
      }
    }
    closedir(d);
  }
  return out;
}

// Every value position in `v`, as a path of member names / indices.
using Path = std::vector<std::string>;
void collect(const Value& v, Path& cur, std::vector<Path>& out) {
  out.push_back(cur);
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      cur.push_back(m.name.GetString());
      collect(m.value, cur, out);
      cur.pop_back();
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      cur.push_back("#" + std::to_string(i));
      collect(v[i], cur, out);
      cur.pop_back();
    }
  }
}

Value* at(Value& root, const Path& p) {
  Value* v = &root;
  for (const auto& t : p) {
    if (t[0] == '#') {
      v = &(*v)[static_cast<rapidjson::SizeType>(std::stoi(t.substr(1)))];
    } else {
      v = &(*v)[t.c_str()];
    }
  }
  return v;
}

struct Verdicts {
  int compared = 0;
  int rejected = 0;
};

void compare(const CompiledSchema& schema, const Value& value, Verdicts& stats) {
  auto violation = schema.validator->validate(value, "x");
  if (violation && violation->message == "duplicate key") {
    return;  // by design only ours rejects duplicate keys (RapidJSON keeps both)
  }
  rapidjson::SchemaValidator reference(*schema.schema);
  bool expected = value.Accept(reference);
  bool ours = !violation.has_value();
  INFO("schema " << schema.path << " value " << json::stringify(value));
  CHECK(ours == expected);
  ++stats.compared;
  stats.rejected += expected ? 0 : 1;
}

const std::vector<std::string> kReplacements = {"null",
                                                "true",
                                                "false",
                                                "0",
                                                "-1",
                                                "1",
                                                "1.5",
                                                "65535",
                                                "65536",
                                                "600",
                                                "18446744073709551615",
                                                "253402300800000",
                                                "\"\"",
                                                "\"x\"",
                                                "\"200\"",
                                                "\"ping\"",
                                                "\"Bad Type\"",
                                                "\"2026-11-21T08:00:00Z\"",
                                                "\"2026-11-21\"",
                                                "\"running\"",
                                                "\"start_frp_client_service\"",
                                                "[]",
                                                "[1]",
                                                "[{\"name\":\"stop_frp_client_service\"}]",
                                                "{}",
                                                "{\"a\":1}",
                                                "{\"ssh\":22}",
                                                "{\"SSH\":22}"};

}  // namespace

TEST_CASE("compiled validator agrees with RapidJSON's on examples and their mutations",
          "[schema]") {
  const auto& reg = SchemaRegistry::embedded();
  Verdicts stats;
  for (const auto& text : exampleTexts()) {
    Document doc;
    doc.Parse(text.c_str());
    if (doc.HasParseError() || !doc.IsObject() || doc.MemberCount() != 1) {
      continue;
    }
    std::string kname = doc.MemberBegin()->name.GetString();
    Kind kind = kname == "request" ? Kind::kRequest
                                   : (kname == "response" ? Kind::kResponse : Kind::kEvent);
    if (kname != "request" && kname != "response" && kname != "event") {
      continue;
    }
    Value& inner = doc.MemberBegin()->value;
    if (!inner.IsObject()) {
      continue;
    }
    std::string type = json::getString(inner, "type") ? json::getString(inner, "type") : "";
    std::vector<const CompiledSchema*> targets = {&reg.envelope(kind)};
    std::vector<const CompiledSchema*> bodyTargets;
    for (bool success : {true, false}) {
      if (const auto* b = reg.body(kind, type, success)) {
        bodyTargets.push_back(b);
      }
    }
    std::vector<Path> paths;
    Path cur;
    collect(inner, cur, paths);
    for (const auto& p : paths) {
      std::vector<std::function<void(Document&)>> edits;
      for (const auto& r : kReplacements) {
        edits.push_back([p, r](Document& d) {
          Document rep;
          rep.Parse(r.c_str());
          Value* v = at(d.MemberBegin()->value, p);
          v->CopyFrom(rep, d.GetAllocator());
        });
      }
      if (!p.empty() && p.back()[0] != '#') {
        edits.push_back([p](Document& d) {
          Path parent(p.begin(), p.end() - 1);
          at(d.MemberBegin()->value, parent)->RemoveMember(p.back().c_str());
        });
      }
      edits.push_back([p](Document& d) {
        Value* v = at(d.MemberBegin()->value, p);
        if (v->IsObject()) {
          v->AddMember("unknown_field", Value(7), d.GetAllocator());
        }
      });
      for (const auto& edit : edits) {
        Document copy;
        copy.CopyFrom(doc, copy.GetAllocator());
        edit(copy);
        Value& mutated = copy.MemberBegin()->value;
        for (const auto* t : targets) {
          compare(*t, mutated, stats);
        }
        if (mutated.IsObject() && mutated.HasMember("body")) {
          for (const auto* t : bodyTargets) {
            compare(*t, mutated["body"], stats);
          }
        }
      }
    }
  }
  INFO("compared " << stats.compared << ", rejected " << stats.rejected);
  CHECK(stats.compared > 10000);
  CHECK(stats.rejected > 1000);
  CHECK(stats.compared - stats.rejected > 1000);
}

TEST_CASE("a schema with a keyword the validator does not know is refused", "[schema]") {
  for (const char* s :
       {R"({"type":"object","propertyNames":{"maxLength":3}})", R"({"format":"date-time"})",
        R"({"$ref":"#/definitions/x"})", R"({"items":[{"type":"string"}]})", R"({"type":"int"})",
        R"({"pattern":"a(b"})"}) {
    INFO(s);
    Document d;
    d.Parse(s);
    CHECK_FALSE(SchemaValidator::compile(d, "test").ok());
  }
}

TEST_CASE("duplicate keys are found at any depth and named by path", "[schema]") {
  Document schema;
  schema.Parse("{}");
  auto v = SchemaValidator::compile(schema, "any");
  REQUIRE(v.ok());
  Document d;
  d.Parse(R"({"a":[{"b":{"c":1,"d":2,"c":3}}]})");
  auto violation = (*v)->validate(d, "root");
  REQUIRE(violation);
  CHECK(violation->field == "root.a[0].b.c");
  CHECK(violation->message == "duplicate key");
}
