#pragma once

// Pattern's parser (private to jsonschema/): the pattern's text to a syntax tree, which
// pattern.cpp compiles to an automaton.

#include <array>
#include <memory>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgelink::jsonschema {

/// A parsed pattern: a tree of sequences, alternatives and repeats over byte sets and anchors.
struct Ast {
  enum Kind { kAtom, kSeq, kAlt, kRepeat, kBegin, kEnd } kind = kSeq;
  std::array<bool, 256> chars{};  // kAtom: the bytes it matches
  std::vector<std::unique_ptr<Ast>> children;
  int min = 1;
  int max = 1;  // -1: unbounded
};
using AstPtr = std::unique_ptr<Ast>;

/// Parses the ECMA 262 subset Pattern documents; an error names the offset and what is wrong.
Result<AstPtr> parsePattern(std::string_view source);

}  // namespace edgelink::jsonschema
