#pragma once

// PostgreSQL's binary COPY format, written into one buffer (pure: no I/O). Binary COPY spares
// both sides the text escaping and parsing of every field.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace edgelink::dispatcher {

class CopyWriter {
 public:
  CopyWriter();

  /// Starts a row of `fields` fields.
  void row(int16_t fields);
  void null();
  void text(std::string_view value);
  void optText(const std::optional<std::string>& value);
  /// text, or NULL when empty.
  void textOrNull(std::string_view value);
  void int4(int32_t value);
  void int8(int64_t value);
  void boolean(bool value);
  void float8(double value);
  /// timestamptz from Unix epoch milliseconds.
  void timestamp(int64_t epochMs);
  void optTimestamp(std::optional<int64_t> epochMs);
  /// jsonb from JSON text.
  void jsonb(std::string_view json);
  void bytea(std::string_view bytes);

  /// The complete COPY data (appends the trailer once).
  std::string_view finish();
  size_t rows() const { return rows_; }
  size_t bytes() const { return buf_.size(); }

 private:
  void length(int32_t n);
  void be16(uint16_t v);
  void be32(uint32_t v);
  void be64(uint64_t v);

  std::string buf_;
  size_t rows_ = 0;
  bool finished_ = false;
};

}  // namespace edgelink::dispatcher
