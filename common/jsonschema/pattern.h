#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace edgelink::jsonschema {

/// A regular expression for JSON Schema `pattern` (an ECMA 262 subset): literals, `.`, classes
/// `[a-z_]` / `[^...]`, escapes (`\d \w \s \. \\` ...), groups, `|`, the quantifiers
/// `* + ? {n} {n,} {n,m}`, and `^` / `$` at the start / end of the pattern (or of each top-level
/// alternative). Search semantics, as JSON Schema specifies.
///
/// Compiled to a Glushkov automaton (positions as bits of one 64-bit word), then determinised into
/// a small DFA over byte classes when it has at most 256 states (every pattern in our schemas);
/// otherwise run bit-parallel. Linear time in the subject, no backtracking, no allocation.
/// Patterns needing more than 64 character positions after expanding counted repeats are
/// refused at compile time.
class Pattern {
 public:
  static Result<Pattern> compile(std::string_view source);
  /// True when the pattern matches somewhere in `subject` (bytes; UTF-8 is not decoded).
  bool search(std::string_view subject) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::array<uint64_t, 256> charMask_{};  // positions each byte may occupy
  std::array<uint64_t, 64> follow_{};     // positions that may follow each position
  uint64_t first_ = 0;
  uint64_t last_ = 0;
  bool nullable_ = false;
  bool anchoredStart_ = false;
  bool anchoredEnd_ = false;

  // The DFA: state 0 is the start; table entries are pre-multiplied row offsets.
  void determinise();
  uint64_t step(uint64_t state, bool atStart, unsigned char byte) const;
  std::array<uint8_t, 256> byteClass_{};
  int classes_ = 0;
  std::vector<int32_t> dfa_;      // state * classes_ + class -> next state
  std::vector<uint8_t> accepts_;  // per state
  // Patterns anchored at the end also get a table stepping two bytes at once (half the chain of
  // dependent loads): row r = state << pairShift_ holds at r + c1 * classes_ + c2 the state
  // after classes c1 then c2, and at r + classes_ * classes_ + c the state after class c alone
  // (the last byte of an odd-length subject); entries are rows. Empty when too big.
  void pairUp();
  std::vector<int32_t> pairs_;
  int pairShift_ = 0;
};

}  // namespace edgelink::jsonschema
