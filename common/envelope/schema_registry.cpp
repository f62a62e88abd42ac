#include "envelope/schema_registry.h"

#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>

#include <stdexcept>

namespace edgelink::envelope {
namespace {

using rapidjson::Document;
using rapidjson::Value;

/// Resolves "../../common.schema.json" against "bodies/requests/x.json" -> "common.schema.json".
std::string resolvePath(const std::string& base, const std::string& rel) {
  std::vector<std::string> parts;
  auto slash = base.rfind('/');
  std::string dir = slash == std::string::npos ? "" : base.substr(0, slash);
  size_t start = 0;
  while (start < dir.size()) {
    auto end = dir.find('/', start);
    if (end == std::string::npos) {
      end = dir.size();
    }
    parts.push_back(dir.substr(start, end - start));
    start = end + 1;
  }
  start = 0;
  while (start <= rel.size()) {
    auto end = rel.find('/', start);
    if (end == std::string::npos) {
      end = rel.size();
    }
    std::string p = rel.substr(start, end - start);
    if (p == "..") {
      if (!parts.empty()) {
        parts.pop_back();
      }
    } else if (!p.empty() && p != ".") {
      parts.push_back(p);
    }
    start = end + 1;
  }
  std::string out;
  for (const auto& p : parts) {
    out += (out.empty() ? "" : "/") + p;
  }
  return out;
}

class Inliner {
 public:
  explicit Inliner(const std::map<std::string, Document>& sources) : sources_(sources) {}

  // Replaces every {"$ref": ...} under `v` (which lives in file `file`) by a resolved copy.
  void inlineRefs(Value& v, const std::string& file, Document::AllocatorType& alloc, int depth) {
    if (depth > 32) {
      throw std::runtime_error("schema $ref nesting deeper than 32 in " + file);
    }
    if (v.IsArray()) {
      for (auto& e : v.GetArray()) {
        inlineRefs(e, file, alloc, depth);
      }
      return;
    }
    if (!v.IsObject()) {
      return;
    }
    auto ref = v.FindMember("$ref");
    if (ref != v.MemberEnd() && ref->value.IsString()) {
      std::string target = ref->value.GetString();
      auto hash = target.find('#');
      std::string filePart = hash == std::string::npos ? target : target.substr(0, hash);
      std::string pointer = hash == std::string::npos ? "" : target.substr(hash + 1);
      std::string targetFile = filePart.empty() ? file : resolvePath(file, filePart);
      auto src = sources_.find(targetFile);
      if (src == sources_.end()) {
        throw std::runtime_error(file + ": $ref to unknown schema file '" + filePart + "'");
      }
      const Value* node = &src->second;
      if (!pointer.empty()) {
        rapidjson::Pointer p(pointer.c_str());
        node = p.IsValid() ? p.Get(src->second) : nullptr;
      }
      if (node == nullptr) {
        throw std::runtime_error(file + ": $ref '" + target + "' points at nothing");
      }
      Value copy(*node, alloc);
      copy.RemoveMember("$schema");
      inlineRefs(copy, targetFile, alloc, depth + 1);
      // Keep this node's own annotations (title, description) beside the resolved schema.
      for (auto& m : v.GetObject()) {
        if (std::string(m.name.GetString()) != "$ref" && !copy.HasMember(m.name)) {
          copy.AddMember(Value(m.name, alloc), Value(m.value, alloc), alloc);
        }
      }
      v = copy;
      return;
    }
    for (auto& m : v.GetObject()) {
      inlineRefs(m.value, file, alloc, depth);
    }
  }

 private:
  const std::map<std::string, Document>& sources_;
};

}  // namespace

Result<std::unique_ptr<SchemaRegistry>> SchemaRegistry::build(
    const std::vector<EmbeddedFile>& files) {
  std::map<std::string, Document> sources;
  for (const auto& f : files) {
    if (f.path.size() < 5 || f.path.substr(f.path.size() - 5) != ".json" ||
        f.path.find("examples/") == 0) {
      continue;
    }
    Document d;
    d.Parse(f.data.data(), f.data.size());
    if (d.HasParseError()) {
      return Error(Status::kInternal, "schema " + std::string(f.path) + ": invalid JSON at byte " +
                                          std::to_string(d.GetErrorOffset()) + ": " +
                                          rapidjson::GetParseError_En(d.GetParseError()));
    }
    sources.emplace(std::string(f.path), std::move(d));
  }
  auto reg = std::make_unique<SchemaRegistry>();
  Inliner inliner(sources);
  for (auto& [path, src] : sources) {
    auto compiled = std::make_unique<CompiledSchema>();
    compiled->path = path;
    compiled->json.CopyFrom(src, compiled->json.GetAllocator());
    try {
      inliner.inlineRefs(compiled->json, path, compiled->json.GetAllocator(), 0);
    } catch (const std::exception& e) {
      return Error(Status::kInternal, std::string("schema ") + e.what());
    }
    auto validator = jsonschema::SchemaValidator::compile(compiled->json, path);
    if (!validator) {
      return validator.error();
    }
    compiled->validator = std::move(*validator);
    compiled->schema = std::make_unique<rapidjson::SchemaDocument>(compiled->json);
    reg->schemas_.emplace(path, std::move(compiled));
  }
  const char* names[3] = {"request.schema.json", "response.schema.json", "event.schema.json"};
  const std::string folders[3] = {"bodies/requests/", "bodies/responses/", "bodies/events/"};
  for (int i = 0; i < 3; ++i) {
    reg->envelopes_[i] = reg->find(names[i]);
    if (reg->envelopes_[i] == nullptr) {
      return Error(Status::kInternal, std::string("schema ") + names[i] + " is missing");
    }
    for (const auto& [path, compiled] : reg->schemas_) {
      const std::string& folder = folders[i];
      if (path.size() > folder.size() + 5 && path.compare(0, folder.size(), folder) == 0 &&
          path.compare(path.size() - 5, 5, ".json") == 0) {
        reg->bodies_[i].emplace(path.substr(folder.size(), path.size() - folder.size() - 5),
                                compiled.get());
      }
    }
  }
  reg->errorBody_ = reg->find("bodies/responses/error.json");
  return reg;
}

const SchemaRegistry& SchemaRegistry::embedded() {
  static const std::unique_ptr<SchemaRegistry> kRegistry = [] {
    auto r = build(embeddedSchemaFiles());
    if (!r) {
      // The embedded schemas are checked by the unit tests; this cannot happen in a tested build.
      throw std::logic_error("embedded schemas are broken: " + r.error().describe());
    }
    return std::move(r).value();
  }();
  return *kRegistry;
}

const CompiledSchema& SchemaRegistry::envelope(Kind kind) const {
  return *envelopes_[static_cast<int>(kind)];
}

const CompiledSchema* SchemaRegistry::body(Kind kind, const std::string& type, bool success) const {
  if (kind == Kind::kResponse && !success) {
    return errorBody_;
  }
  const auto& byType = bodies_[static_cast<int>(kind)];
  auto it = byType.find(std::string_view(type));
  return it == byType.end() ? nullptr : it->second;
}

const CompiledSchema* SchemaRegistry::find(const std::string& path) const {
  auto it = schemas_.find(path);
  return it == schemas_.end() ? nullptr : it->second.get();
}

std::vector<std::string> SchemaRegistry::paths() const {
  std::vector<std::string> out;
  for (const auto& [p, s] : schemas_) {
    out.push_back(p);
  }
  return out;
}

}  // namespace edgelink::envelope
