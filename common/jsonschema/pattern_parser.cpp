#include "jsonschema/pattern_parser.h"

#include <string>

namespace edgelink::jsonschema {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<AstPtr> parse() {
    auto n = alternation();
    if (n.ok() && pos_ != s_.size()) {
      return fail("unexpected ')'");
    }
    return n;
  }

 private:
  Error fail(const std::string& what) const {
    return Error(Status::kInternal,
                 "pattern '" + std::string(s_) + "' at " + std::to_string(pos_) + ": " + what);
  }

  Result<AstPtr> alternation() {
    auto alt = std::make_unique<Ast>();
    alt->kind = Ast::kAlt;
    for (;;) {
      auto seq = sequence();
      if (!seq) {
        return seq;
      }
      alt->children.push_back(std::move(*seq));
      if (pos_ < s_.size() && s_[pos_] == '|') {
        ++pos_;
        continue;
      }
      break;
    }
    if (alt->children.size() == 1) {
      return std::move(alt->children[0]);
    }
    return AstPtr(std::move(alt));
  }

  Result<AstPtr> sequence() {
    auto seq = std::make_unique<Ast>();
    seq->kind = Ast::kSeq;
    while (pos_ < s_.size() && s_[pos_] != '|' && s_[pos_] != ')') {
      auto a = atom();
      if (!a) {
        return a;
      }
      auto q = quantified(std::move(*a));
      if (!q) {
        return q;
      }
      seq->children.push_back(std::move(*q));
    }
    return AstPtr(std::move(seq));
  }

  int number() {
    int v = -1;
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      v = (v < 0 ? 0 : v) * 10 + (s_[pos_++] - '0');
      if (v > 64) {
        return 65;  // beyond any automaton we accept
      }
    }
    return v;
  }

  Result<AstPtr> quantified(AstPtr a) {
    if (pos_ >= s_.size()) {
      return a;
    }
    int min = -2, max = -2;
    char c = s_[pos_];
    if (c == '*' || c == '+' || c == '?') {
      ++pos_;
      min = c == '+' ? 1 : 0;
      max = c == '?' ? 1 : -1;
    } else if (c == '{') {
      size_t save = pos_++;
      int lo = number();
      if (lo < 0) {
        pos_ = save;  // a literal '{'
        return a;
      }
      int hi = lo;
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        hi = pos_ < s_.size() && s_[pos_] == '}' ? -1 : number();
      }
      if (pos_ >= s_.size() || s_[pos_] != '}' || (hi >= 0 && hi < lo)) {
        return fail("bad {m,n} quantifier");
      }
      ++pos_;
      min = lo;
      max = hi;
    }
    if (min == -2) {
      return a;
    }
    if (a->kind == Ast::kBegin || a->kind == Ast::kEnd) {
      return fail("quantifier on an anchor");
    }
    auto r = std::make_unique<Ast>();
    r->kind = Ast::kRepeat;
    r->min = min;
    r->max = max;
    r->children.push_back(std::move(a));
    return AstPtr(std::move(r));
  }

  static void addRange(Ast& a, unsigned char lo, unsigned char hi) {
    for (unsigned c = lo; c <= hi; ++c) {
      a.chars[c] = true;
    }
  }

  static bool addClassEscape(Ast& a, char e) {
    switch (e) {
      case 'd':
        addRange(a, '0', '9');
        return true;
      case 'w':
        addRange(a, 'a', 'z');
        addRange(a, 'A', 'Z');
        addRange(a, '0', '9');
        addRange(a, '_', '_');
        return true;
      case 's':
        for (char c : {' ', '\t', '\n', '\r', '\f', '\v'}) {
          addRange(a, static_cast<unsigned char>(c), static_cast<unsigned char>(c));
        }
        return true;
      default:
        return false;
    }
  }

  static char escaped(char e) {
    switch (e) {
      case 't':
        return '\t';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 'f':
        return '\f';
      case 'v':
        return '\v';
      default:
        return e;
    }
  }

  static void negate(Ast& a) {
    for (auto& b : a.chars) {
      b = !b;
    }
  }

  Result<AstPtr> atom() {
    auto n = std::make_unique<Ast>();
    n->kind = Ast::kAtom;
    char c = s_[pos_++];
    switch (c) {
      case '^':
        n->kind = Ast::kBegin;
        return AstPtr(std::move(n));
      case '$':
        n->kind = Ast::kEnd;
        return AstPtr(std::move(n));
      case '.':
        addRange(*n, 0, 255);
        n->chars['\n'] = n->chars['\r'] = false;
        return AstPtr(std::move(n));
      case '(': {
        if (pos_ + 1 < s_.size() && s_[pos_] == '?' && s_[pos_ + 1] == ':') {
          pos_ += 2;
        }
        auto inner = alternation();
        if (!inner) {
          return inner;
        }
        if (pos_ >= s_.size() || s_[pos_] != ')') {
          return fail("missing ')'");
        }
        ++pos_;
        return inner;
      }
      case '[':
        return charClass();
      case '\\': {
        if (pos_ >= s_.size()) {
          return fail("trailing backslash");
        }
        char e = s_[pos_++];
        if (addClassEscape(*n, e)) {
          return AstPtr(std::move(n));
        }
        if (e == 'D' || e == 'W' || e == 'S') {
          addClassEscape(*n, static_cast<char>(e - 'A' + 'a'));
          negate(*n);
          return AstPtr(std::move(n));
        }
        if (e == 'b' || e == 'B' || (e >= '1' && e <= '9')) {
          return fail("word boundaries and back-references are not supported");
        }
        c = escaped(e);
        break;
      }
      case '*':
      case '+':
      case '?':
        return fail("quantifier without an atom");
      default:
        break;
    }
    n->chars[static_cast<unsigned char>(c)] = true;
    return AstPtr(std::move(n));
  }

  Result<AstPtr> charClass() {
    auto n = std::make_unique<Ast>();
    n->kind = Ast::kAtom;
    bool negated = pos_ < s_.size() && s_[pos_] == '^';
    if (negated) {
      ++pos_;
    }
    // ECMAScript: "[]" is an empty class and "[^]" matches any character.
    while (pos_ < s_.size() && s_[pos_] != ']') {
      char lo = s_[pos_++];
      if (lo == '\\') {
        if (pos_ >= s_.size()) {
          return fail("trailing backslash");
        }
        char e = s_[pos_++];
        if (addClassEscape(*n, e)) {
          continue;
        }
        lo = escaped(e);
      }
      char hi = lo;
      if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
        ++pos_;
        hi = s_[pos_++];
        if (hi == '\\' && pos_ < s_.size()) {
          hi = escaped(s_[pos_++]);
        }
        if (static_cast<unsigned char>(hi) < static_cast<unsigned char>(lo)) {
          return fail("range out of order");
        }
      }
      addRange(*n, static_cast<unsigned char>(lo), static_cast<unsigned char>(hi));
    }
    if (pos_ >= s_.size()) {
      return fail("missing ']'");
    }
    ++pos_;
    if (negated) {
      negate(*n);
    }
    return AstPtr(std::move(n));
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<AstPtr> parsePattern(std::string_view source) {
  return Parser(source).parse();
}

}  // namespace edgelink::jsonschema
