#include "web/api_commands.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <set>

#include "cli/context.h"
#include "core/time_format.h"
#include "web/http.h"

namespace edgelink::dispatcher::web {
namespace {

enum class Kind { kDuration, kString, kStringList, kObject, kBool };

struct Field {
  const char* flag;
  Kind kind;
};

/// Each call's body keys: the CLI flag each becomes and what it must hold.
const std::map<std::string, std::map<std::string, Field>>& fieldsByCall() {
  static const std::map<std::string, std::map<std::string, Field>> table = {
      {"open",
       {{"services", {"--services", Kind::kStringList}},
        {"auto_stop", {"--auto-stop", Kind::kDuration}},
        {"mode", {"--mode", Kind::kString}},
        {"wait", {"--wait", Kind::kDuration}},
        {"even_if_offline", {"--even-if-offline", Kind::kBool}}}},
      {"extend",
       {{"auto_stop", {"--auto-stop", Kind::kDuration}}, {"wait", {"--wait", Kind::kDuration}}}},
      {"close", {{"wait", {"--wait", Kind::kDuration}}, {"force", {"--force", Kind::kBool}}}},
      {"send",
       {{"type", {"--type", Kind::kString}},
        {"body", {"--body", Kind::kObject}},
        {"description", {"--description", Kind::kString}},
        {"wait", {"--wait", Kind::kDuration}}}},
  };
  return table;
}

const std::map<std::string, std::vector<std::string>>& commandByCall() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"open", {"session", "open"}},
      {"extend", {"session", "extend"}},
      {"close", {"session", "close"}},
      {"send", {"send"}},
  };
  return table;
}

std::string compact(const rapidjson::Value& v) {
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  v.Accept(w);
  return sb.GetString();
}

/// A string the CLI reads as text only: no NUL, no control characters.
bool plainText(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 && c != '\t') {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<std::vector<std::string>> commandArgs(const std::string& what, const std::string& edge,
                                             const rapidjson::Value& body) {
  auto call = fieldsByCall().find(what);
  if (call == fieldsByCall().end()) {
    return Error(Status::kInternal, "no call " + what);
  }
  if (!body.IsObject()) {
    return Error(Status::kBadRequest, "the body must be a JSON object", "body");
  }
  std::vector<std::string> args = commandByCall().at(what);
  args.push_back("--edge=" + edge);
  for (const auto& m : body.GetObject()) {
    const std::string key(m.name.GetString(), m.name.GetStringLength());
    auto field = call->second.find(key);
    if (field == call->second.end()) {
      std::string known;
      for (const auto& [name, f] : call->second) {
        known += (known.empty() ? "" : ", ") + name;
      }
      return Error(Status::kBadRequest, key + ": unknown key (expected " + known + ")", key);
    }
    const Field& f = field->second;
    const std::string flag = f.flag;
    const rapidjson::Value& v = m.value;
    switch (f.kind) {
      case Kind::kDuration: {
        std::optional<int64_t> seconds;
        if (v.IsInt64() && v.GetInt64() >= 0) {
          seconds = v.GetInt64();
        } else if (v.IsString() && v.GetStringLength() <= 32) {
          seconds = parseDurationSeconds(std::string_view(v.GetString(), v.GetStringLength()));
        }
        if (!seconds || *seconds < 0) {
          return Error(Status::kBadRequest,
                       key +
                           ": expected seconds (a non-negative integer) or a duration such as "
                           "\"90s\", \"15m\", \"2h\", \"1d\"",
                       key);
        }
        // An HTTP call holds a connection while it waits: at most kMaxWaitSeconds.
        if (key == "wait" && *seconds > kMaxWaitSeconds) {
          return Error(Status::kBadRequest,
                       "wait: at most " + std::to_string(kMaxWaitSeconds) + " s over HTTP", key);
        }
        args.push_back(flag + "=" + std::to_string(*seconds));
        break;
      }
      case Kind::kString:
        if (!v.IsString() || v.GetStringLength() > 4096 ||
            !plainText(std::string(v.GetString(), v.GetStringLength()))) {
          return Error(Status::kBadRequest, key + ": expected a string (no control characters)",
                       key);
        }
        args.push_back(flag + "=" + std::string(v.GetString(), v.GetStringLength()));
        break;
      case Kind::kStringList: {
        if (!v.IsArray() || v.Empty() || v.Size() > 32) {
          return Error(Status::kBadRequest, key + ": expected a list of 1-32 service names", key);
        }
        std::string list;
        for (const auto& item : v.GetArray()) {
          const std::string s = item.IsString() ? item.GetString() : "";
          if (s.empty() || s.size() > 64 || s.find(',') != std::string::npos || !plainText(s)) {
            return Error(Status::kBadRequest,
                         key + ": expected a list of service names (strings, no commas)", key);
          }
          list += (list.empty() ? "" : ",") + s;
        }
        args.push_back(flag + "=" + list);
        break;
      }
      case Kind::kObject:
        if (!v.IsObject()) {
          return Error(Status::kBadRequest, key + ": expected a JSON object", key);
        }
        args.push_back(flag + "=" + compact(v));
        break;
      case Kind::kBool:
        if (!v.IsBool()) {
          return Error(Status::kBadRequest, key + ": expected true or false", key);
        }
        if (v.GetBool()) {
          args.push_back(flag);
        }
        break;
    }
  }
  if (what == "send" && (!body.HasMember("type"))) {
    return Error(Status::kBadRequest, "type: required (the request type, e.g. system_info)",
                 "type");
  }
  return args;
}

CommandOutcome runCliCommand(const Options& options, const std::vector<std::string>& args,
                             const AuditActor& actor) {
  CommandOutcome outcome;
  Options copy = options;
  Context context(copy);
  context.json = true;
  context.actor = actor;
  context.outSink = [&outcome](const std::string& text) { outcome.output += text; };
  context.errSink = [&outcome](const std::string& text) {
    outcome.error += (outcome.error.empty() ? "" : "\n") + text;
  };
  CLI::App app{"cloud-dispatcher (web)"};
  app.require_subcommand(1);
  Commands commands(app, context);
  addSendCommand(commands);
  addSessionCommands(commands);
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    outcome.exitCode = kExitUsage;
    outcome.error = e.what();
    return outcome;
  }
  try {
    outcome.exitCode = commands.runParsed();
  } catch (const std::exception& e) {
    outcome.exitCode = 70;
    outcome.error = std::string("internal error: ") + e.what();
  }
  return outcome;
}

std::string commandReplyJson(const CommandOutcome& outcome) {
  rapidjson::Document result;
  result.Parse(outcome.output.c_str(), outcome.output.size());
  rapidjson::StringBuffer sb;
  rapidjson::Writer<rapidjson::StringBuffer> w(sb);
  w.StartObject();
  w.Key("exit_code");
  w.Int(outcome.exitCode);
  w.Key("outcome");
  w.String(outcomeForExit(outcome.exitCode));
  w.Key("result");
  if (!outcome.output.empty() && !result.HasParseError()) {
    result.Accept(w);
  } else {
    w.Null();
  }
  w.Key("error");
  w.String(outcome.error.c_str(), static_cast<rapidjson::SizeType>(outcome.error.size()));
  w.EndObject();
  return sb.GetString();
}

}  // namespace edgelink::dispatcher::web
