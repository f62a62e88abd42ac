#include "config/cli_config.h"

#include <algorithm>
#include <cstdio>

#include "core/strings.h"
#include "core/time_format.h"

namespace edgelink::config {

Error Problems::toError() const {
  return Error(Status::kBadRequest, join(lines_, "\n"));
}

CLI::Option* addConfigFile(CLI::App& app) {
  app.allow_config_extras(CLI::config_extras_mode::error);
  auto* opt = app.set_config("--config", "", "Configuration file (TOML/INI: key = value)");
  opt->check(CLI::ExistingFile);
  return opt;
}

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
  try {
    app.parse(argc, argv);
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
    out.message = describe(e, path) + "\nRun with --help for usage.";
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
