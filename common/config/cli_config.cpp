#include "config/cli_config.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "core/strings.h"
#include "core/time_format.h"

namespace edgelink::config {

Error Problems::toError() const {
  return Error(Status::kBadRequest, join(lines_, "\n"));
}

namespace {

/// What `key = []` reaches an option as (not "[]": CLI11 splits a bracketed value into its
/// items). A list option drops it (none); an option of one value refuses it, naming its key.
constexpr const char* kEmptyList = "(empty list [])";

/// CLI11's TOML reader, with `key = []` kept as an explicit empty list (CLI11 reads it as no
/// values at all, which its options then refuse: "At least 1 required"), and without the empty
/// item CLI11 2.1 reads between `"a" ,"b"` (a space before the comma).
class ConfigFile : public CLI::ConfigTOML {
 public:
  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    auto read = CLI::ConfigTOML::from_config(input);
    for (auto& item : read) {
      if (item.name == "--") {  // the end of a [section]
        continue;
      }
      if (item.inputs.size() > 1) {
        auto& in = item.inputs;
        in.erase(std::remove(in.begin(), in.end(), std::string()), in.end());
      }
      if (item.inputs.empty()) {
        item.inputs = {kEmptyList};
      }
    }
    return read;
  }
};

/// Throws for `key = []` given to an option that takes one value (CLI11 handed it "[]").
void refuseEmptyListForSingleValues(CLI::App& app) {
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_items_expected_max() > 1) {
      continue;
    }
    for (const auto& given : opt->results()) {
      if (given == kEmptyList) {
        const auto& names = opt->get_lnames();
        throw CLI::ValidationError(names.empty() ? opt->get_name() : names.front(),
                                   "an empty list [] is not a value here: it takes one value");
      }
    }
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    refuseEmptyListForSingleValues(*sub);
  }
}

}  // namespace

CLI::Option* addListOption(CLI::App& app, const std::string& flag, std::vector<std::string>& values,
                           const std::string& description) {
  auto* opt = app.add_option_function<std::vector<std::string>>(
      flag,
      [&values](const std::vector<std::string>& given) {
        values.clear();
        for (const auto& v : given) {
          if (v != kEmptyList) {
            values.push_back(v);
          }
        }
      },
      description);
  if (!values.empty()) {
    opt->default_str("[" + join(values, ",") + "]");
  }
  return opt;
}

CLI::Option* addConfigFile(CLI::App& app, const std::string& envName) {
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.config_formatter(std::make_shared<ConfigFile>());
  auto* opt = app.set_config("--config", "", "Configuration file (TOML/INI: key = value)");
  opt->check(CLI::ExistingFile);
  if (!envName.empty()) {
    // CLI11 reads the config file before it looks at environment variables, so an envname alone
    // would name the file too late (its keys never read): parse() makes the variable's file the
    // option's default instead. The envname shows in --help and tells parse() which variable.
    opt->envname(envName);
  }
  return opt;
}

std::string durationText(int64_t seconds) {
  if (seconds <= 0) {
    return std::to_string(seconds);
  }
  std::string out;
  for (const auto& [unit, size] :
       {std::pair<const char*, int64_t>{"d", 86400}, {"h", 3600}, {"m", 60}, {"s", 1}}) {
    if (seconds >= size) {
      out += std::to_string(seconds / size) + unit;
      seconds %= size;
    }
  }
  return out;
}

CLI::Option* durationDefault(CLI::Option* option, int64_t seconds) {
  return option->default_str(durationText(seconds));
}

namespace {

bool givenOnCommandLine(int argc, const char* const* argv, const std::string& flag) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      return false;
    }
    if (arg == flag || arg.rfind(flag + "=", 0) == 0) {
      return true;
    }
  }
  return false;
}

/// The deepest (sub)command the command line selected.
CLI::App* selectedCommand(CLI::App& app) {
  CLI::App* at = &app;
  for (;;) {
    auto subs = at->get_subcommands();
    if (subs.empty()) {
      return at;
    }
    at = subs.front();
  }
}

std::string commandPath(const CLI::App& root, const CLI::App* at) {
  std::string path;
  for (const CLI::App* a = at; a != nullptr && a != &root; a = a->get_parent()) {
    path = a->get_name() + (path.empty() ? "" : " " + path);
  }
  return path;
}

/// "unknown command 'frob'" / "a command is required" with the valid names, when that is what
/// went wrong at the deepest selected command; empty otherwise.
std::string describeCommandError(CLI::App& app, const CLI::ParseError& e) {
  CLI::App* at = selectedCommand(app);
  auto all = at->get_subcommands([](CLI::App*) { return true; });
  if (all.empty()) {
    return {};
  }
  const bool required = at->get_require_subcommand_min() > 0;
  // The first bare word left over is what was taken for a command.
  std::string unknown;
  for (const auto& word : app.remaining()) {
    if (!word.empty() && word[0] != '-') {
      unknown = word;
      break;
    }
  }
  const bool missing = dynamic_cast<const CLI::RequiredError*>(&e) != nullptr && required;
  const bool extra = dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr && !unknown.empty();
  if (!missing && !extra) {
    return {};
  }
  std::string names;
  for (const CLI::App* sub : all) {
    names += (names.empty() ? "" : ", ") + sub->get_name();
  }
  const std::string path = commandPath(app, at);
  std::string program = app.get_name();  // argv[0]
  program = program.substr(program.rfind('/') + 1);
  const std::string where = path.empty() ? program : program + " " + path;
  if (!unknown.empty()) {
    return "unknown command '" + (path.empty() ? "" : path + " ") + unknown + "'; " + where +
           " commands: " + names;
  }
  return where + ": a command is required: " + names;
}

}  // namespace

std::string describe(const CLI::ParseError& e, const std::string& configPath) {
  std::string msg = e.what();
  const std::string where = configPath.empty() ? "config file" : "config file " + configPath;
  const std::string unknownPrefix = "INI was not able to parse ";
  if (msg.rfind(unknownPrefix, 0) == 0) {
    std::string key = msg.substr(unknownPrefix.size());
    const std::string sectionMark = ".++";
    if (key.size() > sectionMark.size() &&
        key.compare(key.size() - sectionMark.size(), sectionMark.size(), sectionMark) == 0) {
      key.resize(key.size() - sectionMark.size());
      return where + ": unknown section [" + key + "]: keys are flat, e.g. " + key +
             "_<name> = ...";
    }
    std::string hint;
    if (key.find('_') != std::string::npos) {
      std::string dashed = key;
      std::replace(dashed.begin(), dashed.end(), '_', '-');
      hint = " (keys are the flags' names: did you mean '" + dashed + "'?)";
    }
    return where + ": unknown key '" + key + "'" + hint;
  }
  return msg;
}

ParseOutcome parse(CLI::App& app, int argc, const char* const* argv,
                   const std::string& configPath) {
  ParseOutcome out;
  if (auto* opt = app.get_config_ptr(); opt != nullptr && !opt->get_envname().empty() &&
                                        !givenOnCommandLine(argc, argv, "--config")) {
    const char* named = std::getenv(opt->get_envname().c_str());
    if (named != nullptr && *named != '\0') {
      if (::access(named, R_OK) != 0) {
        out.proceed = false;
        out.exitCode = 2;
        out.message = "config file " + std::string(named) + " (from " + opt->get_envname() +
                      "): cannot be read: " + std::strerror(errno) + "\nRun with --help for usage.";
        return out;
      }
      opt->default_str(named);
    }
  }
  try {
    app.parse(argc, argv);
    refuseEmptyListForSingleValues(app);
  } catch (const CLI::CallForHelp&) {
    out.proceed = false;
    out.message = app.help();
  } catch (const CLI::CallForAllHelp&) {
    out.proceed = false;
    out.message = app.help("", CLI::AppFormatMode::All);
  } catch (const CLI::CallForVersion& e) {
    out.proceed = false;
    out.message = e.what();
  } catch (const CLI::ParseError& e) {
    out.proceed = false;
    out.exitCode = 2;
    std::string path = configPath;
    if (path.empty()) {
      // The raw results: as<>() would run the option's validators again.
      if (auto* opt = app.get_config_ptr(); opt != nullptr && !opt->results().empty()) {
        path = opt->results().front();
      }
    }
    std::string command = describeCommandError(app, e);
    out.message = (command.empty() ? describe(e, path) : command) + "\nRun with --help for usage.";
  }
  return out;
}

CLI::Validator durationSeconds() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        auto seconds = parseDurationSeconds(text);
        if (!seconds) {
          return "expected a duration such as 600, 90s, 15m, 2h or 1h30m, got '" + text + "'";
        }
        text = std::to_string(*seconds);
        return {};
      },
      "DURATION");
}

int report(const ParseOutcome& outcome) {
  if (!outcome.message.empty()) {
    std::fputs(outcome.message.c_str(), outcome.exitCode == 0 ? stdout : stderr);
    std::fputc('\n', outcome.exitCode == 0 ? stdout : stderr);
  }
  return outcome.exitCode;
}

}  // namespace edgelink::config
