// README.zh-CN.md is a full translation of README.md, not a summary: the same sections (headings
// of the same levels, in the same order), each with the same code blocks (verbatim: commands,
// configs, JSON and SQL are not translated) and the same number of table rows, and every inline
// `code` span of the English text (commands, options, file names, states) present in the
// Chinese one. A dropped or merged section, a missing command, a stale code block fails here.
#include <catch2/catch.hpp>
#include <set>

#include "core/strings.h"
#include "harness/test_util.h"

namespace {

struct Section {
  int level = 0;
  std::string heading;
  std::vector<std::string> codeBlocks;  ///< each block's lines, fences included
  int tableRows = 0;
};

struct Markdown {
  std::vector<Section> sections;  ///< sections[0]: the text before the first heading
  std::string prose;              ///< the text outside code blocks, whitespace runs as one space
  std::set<std::string> inlineCode;
};

/// Whitespace runs (line breaks and indentation included) as one space: inline code spans may
/// wrap lines, and each language wraps them differently.
std::string collapseSpaces(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t';
    if (!space) {
      out.push_back(c);
    } else if (out.empty() || out.back() != ' ') {
      out.push_back(' ');
    }
  }
  return out;
}

Markdown parse(const std::string& text) {
  Markdown md;
  md.sections.emplace_back();
  bool inFence = false;
  std::string block;
  for (const auto& line : edgelink::split(text, '\n')) {
    if (line.rfind("```", 0) == 0) {
      block += line + "\n";
      if (inFence) {
        md.sections.back().codeBlocks.push_back(block);
        block.clear();
      }
      inFence = !inFence;
      continue;
    }
    if (inFence) {
      block += line + "\n";
      continue;
    }
    size_t hashes = line.find_first_not_of('#');
    if (hashes > 0 && hashes != std::string::npos && line[hashes] == ' ') {
      Section s;
      s.level = static_cast<int>(hashes);
      s.heading = line;
      md.sections.push_back(s);
      continue;
    }
    if (line.rfind("|", 0) == 0) {
      ++md.sections.back().tableRows;
    }
    md.prose += line + "\n";
  }
  if (inFence) {
    md.sections.back().codeBlocks.push_back(block + "(unterminated)");
  }
  md.prose = collapseSpaces(md.prose);
  for (size_t at = md.prose.find('`'); at != std::string::npos;) {
    size_t end = md.prose.find('`', at + 1);
    if (end == std::string::npos) {
      break;
    }
    if (end > at + 1) {
      md.inlineCode.insert(md.prose.substr(at + 1, end - at - 1));
    }
    at = md.prose.find('`', end + 1);
  }
  return md;
}

/// Every way `translation` fails to be a full translation of `original`.
std::vector<std::string> compare(const std::string& original, const std::string& translation) {
  const Markdown en = parse(original);
  const Markdown zh = parse(translation);
  std::vector<std::string> problems;
  if (en.sections.size() != zh.sections.size()) {
    problems.push_back("README.md has " + std::to_string(en.sections.size() - 1) +
                       " headings, README.zh-CN.md " + std::to_string(zh.sections.size() - 1));
  }
  const size_t n = std::min(en.sections.size(), zh.sections.size());
  for (size_t i = 0; i < n; ++i) {
    const Section& e = en.sections[i];
    const Section& z = zh.sections[i];
    const std::string where =
        "section " + std::to_string(i) + " '" + e.heading + "' (zh: '" + z.heading + "')";
    if (e.level != z.level) {
      problems.push_back(where + ": heading level " + std::to_string(e.level) + " vs " +
                         std::to_string(z.level));
    }
    if (e.codeBlocks != z.codeBlocks) {
      problems.push_back(where + ": its code blocks differ (" +
                         std::to_string(e.codeBlocks.size()) + " vs " +
                         std::to_string(z.codeBlocks.size()) + "; they are copied verbatim)");
    }
    if (e.tableRows != z.tableRows) {
      problems.push_back(where + ": " + std::to_string(e.tableRows) + " table rows vs " +
                         std::to_string(z.tableRows));
    }
  }
  for (const auto& code : en.inlineCode) {
    if (zh.prose.find("`" + code + "`") == std::string::npos) {
      problems.push_back("inline code `" + code + "` is missing from README.zh-CN.md");
    }
  }
  return problems;
}

std::string readme(const char* name) {
  std::string text = edgelink::testing::readText(std::string(EDGELINK_SOURCE_DIR) + "/" + name);
  REQUIRE_FALSE(text.empty());
  return text;
}

/// `text` without its `index`-th heading's section (up to the next heading of any level).
std::string withoutSection(const std::string& text, size_t index) {
  std::vector<size_t> starts;
  bool inFence = false;
  size_t pos = 0;
  for (const auto& line : edgelink::split(text, '\n')) {
    if (line.rfind("```", 0) == 0) {
      inFence = !inFence;
    } else if (!inFence && line.rfind("#", 0) == 0) {
      starts.push_back(pos);
    }
    pos += line.size() + 1;
  }
  REQUIRE(index + 1 < starts.size());
  return text.substr(0, starts[index]) + text.substr(starts[index + 1]);
}

}  // namespace

TEST_CASE("README.zh-CN.md translates every section code block and command of README.md",
          "[docs][readme]") {
  const std::string en = readme("README.md");
  const std::string zh = readme("README.zh-CN.md");
  REQUIRE(parse(en).sections.size() > 12);
  auto problems = compare(en, zh);
  for (const auto& p : problems) {
    UNSCOPED_INFO(p);
  }
  CHECK(problems.empty());
}

TEST_CASE("the translation check fails when a section a code block or a command is dropped",
          "[docs][readme]") {
  const std::string en = readme("README.md");
  const std::string zh = readme("README.zh-CN.md");
  const size_t headings = parse(zh).sections.size() - 1;
  for (size_t i = 0; i + 1 < headings; ++i) {
    INFO("without section " << i);
    CHECK_FALSE(compare(en, withoutSection(zh, i)).empty());
  }
  // One command line less in a code block.
  const std::string line = "cloud-dispatcher db migrate";
  auto at = zh.find(line);
  REQUIRE(at != std::string::npos);
  CHECK_FALSE(compare(en, zh.substr(0, at) + zh.substr(at + line.size())).empty());
  // A table row less.
  auto row = zh.find("\n| `pending`");
  REQUIRE(row != std::string::npos);
  CHECK_FALSE(compare(en, zh.substr(0, row) + zh.substr(zh.find('\n', row + 1))).empty());
  // An option name translated away.
  auto option = zh.find("`--even-if-offline`");
  REQUIRE(option != std::string::npos);
  std::string renamed = zh;
  renamed.replace(option, 19, "`--即使离线`");
  CHECK_FALSE(compare(en, renamed).empty());
  // The English README against itself: nothing to report.
  CHECK(compare(en, en).empty());
}
