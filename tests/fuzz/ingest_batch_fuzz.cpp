// The dispatcher's ingest model on a batch of Kafka records (no PostgreSQL): each record's value
// decoded, classified and turned into rows, deduplicated within the batch, heartbeats folded
// into edge updates, the offsets to commit. The records are untrusted: topic, key and value.
//
// Input: records separated by 0x1E (ASCII record separator). A record is a header line,
// "topic" or "topic<TAB>key", then '\n' and the value's bytes. Partition and offset follow the
// record's place in the batch.

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "domain/model.h"
#include "domain/signatures.h"
#include "fuzz_util.h"

using namespace edgelink;

namespace {

constexpr int64_t kNowMs = 1'796'000'000'000;  // 2026-11

/// Answers checked as the daemon does for an edge with no registered key.
class NoKeyCheck final : public dispatcher::SignatureCheck {
 public:
  dispatcher::AnswerVerdict check(const std::string&, std::string_view topic,
                                  std::string_view value,
                                  const security::FoundHeaders& headers) const override {
    return dispatcher::judgeAnswer(
        dispatcher::verifyWithEdgeKey(std::nullopt, topic, value, headers), false, false);
  }
};

const dispatcher::Options& options() {
  static const dispatcher::Options o = [] {
    dispatcher::Options out;
    const config::Problems p = out.validate();
    if (!p.empty()) {
      std::fprintf(stderr, "default options: %s\n", p.lines().front().c_str());
      std::abort();
    }
    return out;
  }();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::silenceLogs();
  (void)options();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static envelope::Decoder decoder(envelope::Limits{options().maxMessageBytes, 32});
  static const NoKeyCheck check;
  dispatcher::Batch batch(options(), &check);
  std::string_view rest = fuzz::asText(data, size);
  std::vector<std::string> topics;  // RawMessage holds views; the topic is a string
  size_t records = 0;
  while (!rest.empty() || records == 0) {
    auto [record, next] = fuzz::splitAt(rest, '\x1e');
    rest = next;
    auto [header, value] = fuzz::splitAt(record, '\n');
    auto [topic, key] = fuzz::splitAt(header, '\t');
    dispatcher::RawMessage m;
    m.topic = std::string(topic);
    m.key = key;
    m.payload = value;
    m.partition = static_cast<int32_t>(records % 3);
    m.offset = static_cast<int64_t>(records);
    m.kafkaTimestampMs = records % 2 == 0 ? -1 : kNowMs - static_cast<int64_t>(records);
    (void)batch.add(m, decoder, kNowMs);
    ++records;
  }
  if (batch.messages() != records) {
    std::fprintf(stderr, "batch counted %zu of %zu records\n", batch.messages(), records);
    std::abort();
  }
  for (const auto& r : batch.rejected()) {
    if (r.payload.size() > dispatcher::kRejectedPayloadBytes || r.reason.empty()) {
      std::fprintf(stderr, "rejected row without a reason or with too much payload\n");
      std::abort();
    }
  }
  (void)batch.edgeUpdates();
  (void)batch.nextOffsets();
  return 0;
}
