#include "ingest/copy_writer.h"

#include <cstring>

namespace edgelink::dispatcher {
namespace {

// 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix milliseconds.
constexpr int64_t kPgEpochMs = 946684800000LL;
constexpr char kSignature[] = "PGCOPY\n\377\r\n";  // 11 bytes with the NUL

}  // namespace

CopyWriter::CopyWriter() {
  buf_.append(kSignature, 11);
  be32(0);  // flags
  be32(0);  // header extension length
}

void CopyWriter::be16(uint16_t v) {
  char b[2] = {static_cast<char>(v >> 8), static_cast<char>(v)};
  buf_.append(b, 2);
}

void CopyWriter::be32(uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  buf_.append(b, 4);
}

void CopyWriter::be64(uint64_t v) {
  be32(static_cast<uint32_t>(v >> 32));
  be32(static_cast<uint32_t>(v));
}

void CopyWriter::length(int32_t n) {
  be32(static_cast<uint32_t>(n));
}

void CopyWriter::row(int16_t fields) {
  be16(static_cast<uint16_t>(fields));
  ++rows_;
}

void CopyWriter::null() {
  length(-1);
}

void CopyWriter::text(std::string_view value) {
  length(static_cast<int32_t>(value.size()));
  buf_.append(value.data(), value.size());
}

void CopyWriter::optText(const std::optional<std::string>& value) {
  if (value) {
    text(*value);
  } else {
    null();
  }
}

void CopyWriter::textOrNull(std::string_view value) {
  if (value.empty()) {
    null();
  } else {
    text(value);
  }
}

void CopyWriter::int4(int32_t value) {
  length(4);
  be32(static_cast<uint32_t>(value));
}

void CopyWriter::int8(int64_t value) {
  length(8);
  be64(static_cast<uint64_t>(value));
}

void CopyWriter::boolean(bool value) {
  length(1);
  buf_.push_back(value ? 1 : 0);
}

void CopyWriter::float8(double value) {
  uint64_t bits = 0;
  std::memcpy(&bits, &value, sizeof bits);
  length(8);
  be64(bits);
}

void CopyWriter::timestamp(int64_t epochMs) {
  int8((epochMs - kPgEpochMs) * 1000);
}

void CopyWriter::optTimestamp(std::optional<int64_t> epochMs) {
  if (epochMs) {
    timestamp(*epochMs);
  } else {
    null();
  }
}

void CopyWriter::jsonb(std::string_view json) {
  length(static_cast<int32_t>(json.size() + 1));
  buf_.push_back(1);  // jsonb binary format version
  buf_.append(json.data(), json.size());
}

void CopyWriter::bytea(std::string_view bytes) {
  text(bytes);
}

std::string_view CopyWriter::finish() {
  if (!finished_) {
    be16(0xFFFF);  // -1: end of data
    finished_ = true;
  }
  return buf_;
}

}  // namespace edgelink::dispatcher
