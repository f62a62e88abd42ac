#include "jsonschema/pattern.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "jsonschema/pattern_parser.h"

namespace edgelink::jsonschema {
namespace {

// Glushkov construction: every character atom instance becomes a position.
struct Frag {
  uint64_t first = 0;
  uint64_t last = 0;
  bool nullable = true;
};

class Builder {
 public:
  Builder(std::array<uint64_t, 256>& charMask, std::array<uint64_t, 64>& follow)
      : charMask_(charMask), follow_(follow) {}

  Result<Frag> build(const Ast& a) {
    switch (a.kind) {
      case Ast::kAtom: {
        if (positions_ >= 64) {
          return Error(Status::kInternal, "pattern needs more than 64 positions");
        }
        int p = positions_++;
        for (int c = 0; c < 256; ++c) {
          if (a.chars[static_cast<size_t>(c)]) {
            charMask_[static_cast<size_t>(c)] |= uint64_t{1} << p;
          }
        }
        return Frag{uint64_t{1} << p, uint64_t{1} << p, false};
      }
      case Ast::kBegin:
      case Ast::kEnd:
        return Error(Status::kInternal, "'^' and '$' are supported only at the pattern's ends");
      case Ast::kSeq: {
        Frag acc;  // empty: nullable, no positions
        for (const auto& c : a.children) {
          auto f = build(*c);
          if (!f) {
            return f;
          }
          acc = concat(acc, *f);
        }
        return acc;
      }
      case Ast::kAlt: {
        Frag acc{0, 0, false};
        for (const auto& c : a.children) {
          auto f = build(*c);
          if (!f) {
            return f;
          }
          acc.first |= f->first;
          acc.last |= f->last;
          acc.nullable = acc.nullable || f->nullable;
        }
        return acc;
      }
      case Ast::kRepeat: {
        const Ast& child = *a.children[0];
        Frag acc;
        for (int i = 0; i < a.min; ++i) {  // required copies
          auto f = build(child);
          if (!f) {
            return f;
          }
          acc = concat(acc, *f);
        }
        if (a.max < 0) {  // then a starred copy
          auto f = build(child);
          if (!f) {
            return f;
          }
          loop(*f);
          f->nullable = true;
          acc = concat(acc, *f);
        } else {  // then (max-min) optional copies
          for (int i = a.min; i < a.max; ++i) {
            auto f = build(child);
            if (!f) {
              return f;
            }
            f->nullable = true;
            acc = concat(acc, *f);
          }
        }
        return acc;
      }
    }
    return Frag{};
  }

 private:
  static void forEach(uint64_t set, const std::function<void(int)>& fn) {
    while (set != 0) {
      fn(__builtin_ctzll(set));
      set &= set - 1;
    }
  }
  Frag concat(const Frag& a, const Frag& b) {
    forEach(a.last, [&](int p) { follow_[static_cast<size_t>(p)] |= b.first; });
    Frag out;
    out.first = a.first | (a.nullable ? b.first : 0);
    out.last = b.last | (b.nullable ? a.last : 0);
    out.nullable = a.nullable && b.nullable;
    return out;
  }
  void loop(const Frag& f) {
    forEach(f.last, [&](int p) { follow_[static_cast<size_t>(p)] |= f.first; });
  }

  std::array<uint64_t, 256>& charMask_;
  std::array<uint64_t, 64>& follow_;
  int positions_ = 0;
};

// Strips a leading '^' / trailing '$' from a sequence; reports whether they were there.
void stripAnchors(Ast& seq, bool& begin, bool& end) {
  begin = end = false;
  if (seq.kind != Ast::kSeq) {
    return;
  }
  auto& c = seq.children;
  if (!c.empty() && c.front()->kind == Ast::kBegin) {
    begin = true;
    c.erase(c.begin());
  }
  if (!c.empty() && c.back()->kind == Ast::kEnd) {
    end = true;
    c.pop_back();
  }
}

}  // namespace

Result<Pattern> Pattern::compile(std::string_view source) {
  auto ast = parsePattern(source);
  if (!ast) {
    return ast.error();
  }
  // Anchors must be consistent across top-level alternatives (all or none).
  std::vector<Ast*> branches;
  if ((*ast)->kind == Ast::kAlt) {
    for (auto& c : (*ast)->children) {
      branches.push_back(c.get());
    }
  } else {
    branches.push_back(ast->get());
  }
  Pattern out;
  out.source_ = std::string(source);
  for (size_t i = 0; i < branches.size(); ++i) {
    bool b = false, e = false;
    stripAnchors(*branches[i], b, e);
    if (i == 0) {
      out.anchoredStart_ = b;
      out.anchoredEnd_ = e;
    } else if (b != out.anchoredStart_ || e != out.anchoredEnd_) {
      return Error(Status::kInternal,
                   "pattern '" + out.source_ + "': alternatives must all or none be anchored");
    }
  }
  Builder builder(out.charMask_, out.follow_);
  auto frag = builder.build(**ast);
  if (!frag) {
    return Error(Status::kInternal, "pattern '" + out.source_ + "': " + frag.error().message);
  }
  out.first_ = frag->first;
  out.last_ = frag->last;
  out.nullable_ = frag->nullable;
  out.determinise();
  return out;
}

uint64_t Pattern::step(uint64_t state, bool atStart, unsigned char byte) const {
  uint64_t next = 0;
  for (uint64_t s = state; s != 0; s &= s - 1) {
    next |= follow_[static_cast<size_t>(__builtin_ctzll(s))];
  }
  if (atStart || !anchoredStart_) {
    next |= first_;  // a match may start here
  }
  return next & charMask_[byte];
}

void Pattern::determinise() {
  // Bytes with the same column of positions behave alike: one class each.
  std::vector<uint64_t> classMasks;
  for (int b = 0; b < 256; ++b) {
    uint64_t m = charMask_[static_cast<size_t>(b)];
    auto it = std::find(classMasks.begin(), classMasks.end(), m);
    byteClass_[static_cast<size_t>(b)] = static_cast<uint8_t>(it - classMasks.begin());
    if (it == classMasks.end()) {
      classMasks.push_back(m);
    }
  }
  classes_ = static_cast<int>(classMasks.size());
  // Subset construction. A DFA state is (position set, at start); only the start state has
  // atStart set.
  std::vector<uint64_t> sets = {0};
  std::vector<int32_t> table;
  std::vector<uint8_t> accepts = {0};
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets.size() > 256) {
      return;  // too big: search() runs the automaton bit-parallel instead
    }
    for (int c = 0; c < classes_; ++c) {
      unsigned char rep = 0;
      while (byteClass_[rep] != c) {
        ++rep;
      }
      uint64_t next = step(sets[i], i == 0, rep);
      auto it = std::find(sets.begin() + 1, sets.end(), next);
      int32_t id = static_cast<int32_t>(it - sets.begin());
      if (it == sets.end()) {
        sets.push_back(next);
        accepts.push_back((next & last_) != 0 ? 1 : 0);
      }
      table.push_back(id);
    }
  }
  for (auto& t : table) {
    t *= classes_;  // pre-multiplied: the next row's offset, one add per byte when matching
  }
  dfa_ = std::move(table);
  accepts_ = std::move(accepts);
  if (anchoredEnd_) {
    pairUp();
  }
}

void Pattern::pairUp() {
  constexpr size_t kMaxEntries = 16384;  // 64 KB
  const size_t c = static_cast<size_t>(classes_);
  const size_t states = accepts_.size();
  int shift = 0;
  while ((size_t{1} << shift) < c * c + c) {
    ++shift;
  }
  if ((states << shift) > kMaxEntries) {
    return;
  }
  std::vector<int32_t> pairs(states << shift, 0);
  for (size_t s = 0; s < states; ++s) {
    const int32_t* row = dfa_.data() + s * c;
    int32_t* out = pairs.data() + (s << shift);
    for (size_t c1 = 0; c1 < c; ++c1) {
      const int32_t* mid = dfa_.data() + row[c1];
      for (size_t c2 = 0; c2 < c; ++c2) {
        out[c1 * c + c2] = (mid[c2] / classes_) << shift;
      }
      out[c * c + c1] = (row[c1] / classes_) << shift;
    }
  }
  pairs_ = std::move(pairs);
  pairShift_ = shift;
}

bool Pattern::search(std::string_view subject) const {
  // An empty match is found somewhere unless both ends are anchored and the subject is not empty.
  if (nullable_ && (!(anchoredStart_ && anchoredEnd_) || subject.empty())) {
    return true;
  }
  if (!pairs_.empty()) {
    const int32_t* table = pairs_.data();
    const uint8_t* cls = byteClass_.data();
    const auto* s = reinterpret_cast<const unsigned char*>(subject.data());
    const size_t n = subject.size();
    const int32_t c = classes_;
    int32_t row = 0;  // state << pairShift_
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
      row = table[row + cls[s[i]] * c + cls[s[i + 1]]];
    }
    if (i < n) {
      row = table[row + c * c + cls[s[i]]];
    }
    return accepts_[static_cast<size_t>(row >> pairShift_)] != 0;
  }
  if (!dfa_.empty()) {
    const int32_t* table = dfa_.data();
    const uint8_t* cls = byteClass_.data();
    int32_t row = 0;  // state * classes_
    if (anchoredEnd_) {
      // Only the final state matters (an anchored start reaching the dead state stays there).
      for (char ch : subject) {
        row = table[row + cls[static_cast<unsigned char>(ch)]];
      }
    } else {
      for (char ch : subject) {
        row = table[row + cls[static_cast<unsigned char>(ch)]];
        if (accepts_[static_cast<size_t>(row / classes_)] != 0) {
          return true;
        }
      }
    }
    return accepts_[static_cast<size_t>(row / classes_)] != 0;
  }
  uint64_t state = 0;  // positions just matched
  for (size_t i = 0; i < subject.size(); ++i) {
    state = step(state, i == 0, static_cast<unsigned char>(subject[i]));
    if (!anchoredEnd_ && (state & last_) != 0) {
      return true;
    }
    if (state == 0 && anchoredStart_) {
      return false;
    }
  }
  return (state & last_) != 0;
}

}  // namespace edgelink::jsonschema
