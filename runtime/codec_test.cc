// Codec tests: varints at their edges, every Value kind round-trips with its
// kind intact, and no truncated or altered input crashes the decoder.
#include <catch2/catch.hpp>

#include <limits>

#include "runtime/codec.h"

namespace aos {
namespace {

Value Sample() {
  return Value::Map({
      {Value::String("null"), Value()},
      {Value::String("t"), Value::Bool(true)},
      {Value::String("f"), Value::Bool(false)},
      {Value::String("int"), Value::Int(std::numeric_limits<int64_t>::min())},
      {Value::String("uint"), Value::Uint(std::numeric_limits<uint64_t>::max())},
      {Value::String("double"), Value::Double(1.0)},
      {Value::String("nan"), Value::Double(-0.0)},
      {Value::String("s"), Value::String(std::string("a\0b\xe2\x82\xac", 6))},
      {Value::String("bytes"), Value::BytesOf("\x01\x02")},
      {Value::String("list"), Value::List({Value::Int(1), Value::String("x"), Value::List({})})},
      {Value::String("time"), Value::Time(Timestamp{1'790'000'000'123'456'789})},
      {Value::String("dur"), Value::Dur(Duration{-5})},
      {Value::String("money"), Value::MoneyOf(Money{2'500'000'000, "usd"})},
      {Value::String("type"), Value::Type("int")},
      {Value::Int(7), Value::String("int key")},
  });
}

TEST_CASE("varints and zigzag round-trip at their edges", "[codec]") {
  for (uint64_t v : {0ull, 1ull, 127ull, 128ull, 16383ull, 16384ull, ~0ull}) {
    std::string s;
    PutVarint(s, v);
    Reader r(s);
    CHECK(r.Varint() == v);
    CHECK(r.ok());
    CHECK(r.done());
  }
  for (int64_t v : {int64_t{0}, int64_t{-1}, int64_t{1}, std::numeric_limits<int64_t>::min(),
                    std::numeric_limits<int64_t>::max()}) {
    std::string s;
    PutSigned(s, v);
    Reader r(s);
    CHECK(r.Signed() == v);
  }
  std::string over(11, '\xff');
  Reader r(over);
  r.Varint();
  CHECK_FALSE(r.ok());
}

TEST_CASE("every value kind round-trips with its kind", "[codec]") {
  const Value v = Sample();
  Value back;
  REQUIRE(DecodeValue(EncodeValue(v), &back));
  CHECK(back == v);
  CHECK(back.ToJson() == v.ToJson());
  for (const auto& [k, x] : v.as_map()) {
    const Value* y = back.Find(k);
    REQUIRE(y);
    CHECK(y->kind() == x.kind());
  }
}

TEST_CASE("truncated and altered encodings are rejected, never crash", "[codec]") {
  const std::string enc = EncodeValue(Sample());
  Value out;
  for (size_t n = 0; n < enc.size(); ++n) {
    CHECK_FALSE(DecodeValue(enc.substr(0, n), &out));
  }
  for (size_t i = 0; i < enc.size(); ++i) {
    std::string bad = enc;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    (void)DecodeValue(bad, &out);  // any answer but a crash
  }
  CHECK_FALSE(DecodeValue(enc + "x", &out));
  // A list claiming more elements than bytes left.
  std::string huge = "\x08";
  PutVarint(huge, 1ull << 40);
  CHECK_FALSE(DecodeValue(huge, &out));
  // Nesting past the bound.
  CHECK_FALSE(DecodeValue(std::string(100000, '\x08') + std::string(1, '\x01'), &out));
}

TEST_CASE("CRC-32C matches the published check value", "[codec]") {
  CHECK(Crc32c("123456789") == 0xE3069283u);
  CHECK(Crc32c("") == 0u);
  CHECK(Crc32cPortable("123456789") == 0xE3069283u);
}

TEST_CASE("CRC-32C: the instruction and the table agree at every length, offset and seed", "[codec]") {
  std::string data;
  uint32_t x = 12345;
  for (int i = 0; i < 300; ++i) {
    x = x * 1103515245u + 12345u;
    data += static_cast<char>(x >> 24);
  }
  for (size_t off = 0; off < 9; ++off) {
    for (size_t len = 0; off + len <= data.size(); len += 7) {
      const std::string_view piece = std::string_view(data).substr(off, len);
      REQUIRE(Crc32c(piece) == Crc32cPortable(piece));
      REQUIRE(Crc32c(piece, 0xDEADBEEFu) == Crc32cPortable(piece, 0xDEADBEEFu));
    }
  }
  // Chained: the crc of a whole is the crc of its second half seeded with the first's.
  REQUIRE(Crc32c(std::string_view(data).substr(100), Crc32c(std::string_view(data).substr(0, 100))) == Crc32c(data));
}

TEST_CASE("big-endian keys sort in numeric order", "[codec]") {
  std::string a, b;
  PutBigEndian64(a, 255);
  PutBigEndian64(b, 256);
  CHECK(a < b);
  CHECK(GetBigEndian64(b) == 256);
}

}  // namespace
}  // namespace aos
