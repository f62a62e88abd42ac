// The envelope decoder on untrusted bytes: parse, schema validation, normalisation, and the
// salvage of a refused message's header. What it accepts must encode to canonical JSON that it
// accepts again, unchanged but for the last digits of long floating-point numbers (the dispatcher
// stores and re-sends what it encoded). RapidJSON's parser is exact to 15 significant digits;
// its full-precision mode has undefined behaviour in Debian 12's 1.1.0 (clz(0) in diyfp.h on
// "0.000...0" with 25 zeros, found here), so the decoder does not use it.

#include <rapidjson/document.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "envelope/envelope.h"
#include "envelope/salvage.h"
#include "fuzz_util.h"

using namespace edgelink;

namespace {

/// Same JSON, numbers compared to 1 part in 10^14 (integers exactly).
bool sameJson(const rapidjson::Value& a, const rapidjson::Value& b) {
  if (a.IsDouble() || b.IsDouble()) {
    if (!a.IsNumber() || !b.IsNumber()) {
      return false;
    }
    const double x = a.GetDouble();
    const double y = b.GetDouble();
    return x == y || std::fabs(x - y) <= 1e-14 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.GetType() != b.GetType()) {
    return false;
  }
  if (a.IsObject()) {
    if (a.MemberCount() != b.MemberCount()) {
      return false;
    }
    for (auto m = a.MemberBegin(), n = b.MemberBegin(); m != a.MemberEnd(); ++m, ++n) {
      if (m->name != n->name || !sameJson(m->value, n->value)) {
        return false;
      }
    }
    return true;
  }
  if (a.IsArray()) {
    if (a.Size() != b.Size()) {
      return false;
    }
    for (rapidjson::SizeType i = 0; i < a.Size(); ++i) {
      if (!sameJson(a[i], b[i])) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

bool sameJsonText(const std::string& a, const std::string& b) {
  rapidjson::Document x;
  rapidjson::Document y;
  x.Parse(a.c_str(), a.size());
  y.Parse(b.c_str(), b.size());
  return !x.HasParseError() && !y.HasParseError() && sameJson(x, y);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silenceLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static envelope::Decoder decoder;  // reused, as the daemons keep one per thread
  const std::string_view bytes = fuzz::asText(data, size);
  auto decoded = decoder.decode(bytes);
  if (!decoded) {
    (void)decoded.error().describe();
    (void)envelope::salvageHeader(bytes);
    return 0;
  }
  const std::string canonical = envelope::encode(*decoded);
  auto again = decoder.decode(canonical);
  if (!again) {
    std::fprintf(stderr, "accepted message re-encodes to one the decoder refuses: %s\n%s\n",
                 again.error().describe().c_str(), canonical.c_str());
    std::abort();
  }
  const std::string reencoded = envelope::encode(*again);
  if (reencoded != canonical && !sameJsonText(reencoded, canonical)) {
    std::fprintf(stderr, "canonical encoding is not stable:\n%s\n", canonical.c_str());
    std::abort();
  }
  (void)envelope::salvageHeader(bytes);
  return 0;
}
