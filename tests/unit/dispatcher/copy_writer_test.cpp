#include "ingest/copy_writer.h"

#include <catch2/catch.hpp>

#include "db/pg.h"
#include "ingest/store.h"

using namespace edgelink;
using namespace edgelink::dispatcher;

namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += d[c >> 4];
    out += d[c & 15];
  }
  return out;
}

}  // namespace

TEST_CASE("binary COPY data has PostgreSQL's header, rows and trailer", "[dispatcher][copy]") {
  CopyWriter w;
  CHECK(w.bytes() == 19);  // signature, flags, header extension
  w.row(3);
  w.text("ab");
  w.null();
  w.int4(-2);
  std::string data(w.finish());
  CHECK(w.rows() == 1);
  CHECK(hex(data.substr(0, 11)) == "5047434f50590aff0d0a00");
  CHECK(hex(data.substr(19)) ==
        "0003"                              // three fields
        "000000026162"                      // "ab"
        "ffffffff"                          // NULL
        "00000004fffffffe"                  // -2
        "ffff");                            // trailer
  CHECK(w.finish().size() == data.size());  // the trailer is written once
}

TEST_CASE("timestamps count microseconds from 2000-01-01 and jsonb carries its version",
          "[dispatcher][copy]") {
  CopyWriter w;
  w.row(4);
  w.timestamp(946684800001LL);  // 2000-01-01T00:00:00.001Z
  w.jsonb("{}");
  w.boolean(true);
  w.float8(1.5);
  std::string data(w.finish());
  CHECK(hex(data.substr(21)) ==
        "00000008"
        "00000000000003e8"  // 1000 us
        "00000003"
        "017b7d"  // version 1, "{}"
        "00000001"
        "01"
        "00000008"
        "3ff8000000000000"
        "ffff");
}

TEST_CASE("SQLSTATEs map to what the ingest does next", "[dispatcher][copy]") {
  CHECK(pg::statusForSqlState("08006") == Status::kUnavailable);
  CHECK(pg::statusForSqlState("57P01") == Status::kUnavailable);
  CHECK(pg::statusForSqlState("") == Status::kUnavailable);
  CHECK(pg::statusForSqlState("40P01") == Status::kConflict);
  CHECK(pg::statusForSqlState("23505") == Status::kBadRequest);
  CHECK(pg::statusForSqlState("22P02") == Status::kBadRequest);
  CHECK(pg::statusForSqlState("42P01") == Status::kInternal);
}

TEST_CASE("text[] literals escape what they must", "[dispatcher][copy]") {
  CHECK(textArrayLiteral({}) == "{}");
  CHECK(textArrayLiteral({"a", "b c", "q\"uote", "back\\slash", "{x,y}"}) ==
        "{\"a\",\"b c\",\"q\\\"uote\",\"back\\\\slash\",\"{x,y}\"}");
}
