// The envelope decoder on untrusted bytes: parse, schema validation, normalisation, and the
// salvage of a refused message's header. What it accepts must encode to canonical JSON that it
// accepts again, unchanged (the dispatcher stores and re-sends what it encoded).

#include <cstdio>
#include <cstdlib>

#include "envelope/envelope.h"
#include "envelope/salvage.h"
#include "fuzz_util.h"

using namespace edgelink;

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
  if (envelope::encode(*again) != canonical) {
    std::fprintf(stderr, "canonical encoding is not stable:\n%s\n", canonical.c_str());
    std::abort();
  }
  (void)envelope::salvageHeader(bytes);
  return 0;
}
