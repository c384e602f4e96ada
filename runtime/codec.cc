#include "runtime/codec.h"

#include <array>
#include <cstdio>
#include <cstring>

namespace aos {

namespace {

// Value tags: frozen, like the event type tags (see event_log_format.md).
enum Tag : uint8_t {
  kNull = 0,
  kFalse = 1,
  kTrue = 2,
  kInt = 3,
  kUint = 4,
  kDouble = 5,
  kString = 6,
  kBytesTag = 7,
  kList = 8,
  kMap = 9,
  kTime = 10,
  kDur = 11,
  kMoney = 12,
  kType = 13,
};

// A statement's value is at most kMaxValueDepth deep (value.h); one
// expression over such values (an approval's `show`, a loop's items, a kv or
// entity value) adds at most 64 levels (the grammar's nesting bound), and
// events and snapshots wrap them in a few levels of their own. Past this a
// record is damaged.
constexpr int kMaxDepth = static_cast<int>(kMaxValueDepth) + 64 + 32;

}  // namespace

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void PutSigned(std::string& out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void PutBytes(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

void PutFixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void PutBigEndian64(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t GetBigEndian64(std::string_view s) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

void PutValue(std::string& out, const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull:
      out.push_back(kNull);
      return;
    case ValueKind::kBool:
      out.push_back(v.as_bool() ? kTrue : kFalse);
      return;
    case ValueKind::kInt:
      out.push_back(kInt);
      PutSigned(out, v.as_int());
      return;
    case ValueKind::kUint:
      out.push_back(kUint);
      PutVarint(out, v.as_uint());
      return;
    case ValueKind::kDouble: {
      out.push_back(kDouble);
      uint64_t bits;
      const double d = v.as_double();
      std::memcpy(&bits, &d, 8);
      PutFixed32(out, static_cast<uint32_t>(bits));
      PutFixed32(out, static_cast<uint32_t>(bits >> 32));
      return;
    }
    case ValueKind::kString:
      out.push_back(kString);
      PutBytes(out, v.as_string());
      return;
    case ValueKind::kBytes:
      out.push_back(kBytesTag);
      PutBytes(out, v.as_bytes());
      return;
    case ValueKind::kList:
      out.push_back(kList);
      PutVarint(out, v.as_list().size());
      for (const auto& e : v.as_list()) PutValue(out, e);
      return;
    case ValueKind::kMap:
      out.push_back(kMap);
      PutVarint(out, v.as_map().size());
      for (const auto& [k, e] : v.as_map()) {
        PutValue(out, k);
        PutValue(out, e);
      }
      return;
    case ValueKind::kTimestamp:
      out.push_back(kTime);
      PutSigned(out, v.as_time().nanos);
      return;
    case ValueKind::kDuration:
      out.push_back(kDur);
      PutSigned(out, v.as_duration().nanos);
      return;
    case ValueKind::kMoney:
      out.push_back(kMoney);
      PutSigned(out, v.as_money().nanos);
      PutBytes(out, v.as_money().currency.view());
      return;
    case ValueKind::kType:
      out.push_back(kType);
      PutBytes(out, v.as_type());
      return;
  }
}

std::string EncodeValue(const Value& v) {
  std::string out;
  PutValue(out, v);
  return out;
}

uint8_t Reader::Byte() {
  if (!ok_ || pos_ >= in_.size()) {
    ok_ = false;
    return 0;
  }
  return static_cast<uint8_t>(in_[pos_++]);
}

uint64_t Reader::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const uint8_t b = Byte();
    if (!ok_) return 0;
    if (shift == 63 && b > 1) break;  // more than 64 bits
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  ok_ = false;
  return 0;
}

int64_t Reader::Signed() {
  const uint64_t u = Varint();
  return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
}

std::string_view Reader::Bytes() {
  const uint64_t n = Varint();
  if (!ok_ || n > in_.size() - pos_) {
    ok_ = false;
    return {};
  }
  std::string_view s = in_.substr(pos_, n);
  pos_ += n;
  return s;
}

uint32_t Reader::Fixed32() {
  if (!ok_ || in_.size() - pos_ < 4) {
    ok_ = false;
    return 0;
  }
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i);
  pos_ += 4;
  return v;
}

Value Reader::ReadValue(int depth) {
  if (depth > kMaxDepth) {
    ok_ = false;
    return {};
  }
  const uint8_t tag = Byte();
  if (!ok_) return {};
  switch (tag) {
    case kNull: return Value();
    case kFalse: return Value::Bool(false);
    case kTrue: return Value::Bool(true);
    case kInt: return Value::Int(Signed());
    case kUint: return Value::Uint(Varint());
    case kDouble: {
      const uint64_t lo = Fixed32();
      const uint64_t hi = Fixed32();
      const uint64_t bits = lo | (hi << 32);
      double d;
      std::memcpy(&d, &bits, 8);
      return Value::Double(d);
    }
    case kString: return Value::String(std::string(Bytes()));
    case kBytesTag: return Value::BytesOf(std::string(Bytes()));
    case kList: {
      const uint64_t n = Varint();
      // Every element takes at least one byte: a bigger count is corrupt.
      if (!ok_ || n > in_.size() - pos_) {
        ok_ = false;
        return {};
      }
      ValueList items;
      items.reserve(n);
      for (uint64_t i = 0; i < n && ok_; ++i) items.push_back(ReadValue(depth + 1));
      return ok_ ? Value::List(std::move(items)) : Value();
    }
    case kMap: {
      const uint64_t n = Varint();
      if (!ok_ || n > (in_.size() - pos_) / 2) {
        ok_ = false;
        return {};
      }
      ValueMap entries;
      entries.reserve(n);
      for (uint64_t i = 0; i < n && ok_; ++i) {
        Value k = ReadValue(depth + 1);
        Value v = ReadValue(depth + 1);
        entries.emplace_back(std::move(k), std::move(v));
      }
      return ok_ ? Value::MapOfUnique(std::move(entries)) : Value();
    }
    case kTime: return Value::Time(Timestamp{Signed()});
    case kDur: return Value::Dur(aos::Duration{Signed()});
    case kMoney: {
      const int64_t nanos = Signed();
      // Codes are three letters; a longer one (a config before they were
      // checked) is read cut to Currency's seven characters, not refused.
      return Value::MoneyOf(aos::Money{nanos, aos::Currency(Bytes())});
    }
    case kType: return Value::Type(std::string(Bytes()));
    default:
      ok_ = false;
      return {};
  }
}

bool DecodeValue(std::string_view in, Value* out) {
  Reader r(in);
  Value v = r.ReadValue();
  if (!r.ok() || !r.done()) return false;
  *out = std::move(v);
  return true;
}

namespace {

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}

}  // namespace

std::string Digest(std::string_view text) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

uint32_t Crc32cPortable(std::string_view data, uint32_t crc) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  crc = ~crc;
  for (unsigned char ch : data) crc = table[(crc ^ ch) & 0xff] ^ (crc >> 8);
  return ~crc;
}

#if defined(__x86_64__)
namespace {
// SSE 4.2's crc32 instruction computes CRC-32C, eight bytes at a time: a
// replay checks every record, and the table above did one byte per step.
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(std::string_view data, uint32_t crc) {
  uint64_t c = ~crc;
  const char* p = data.data();
  size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c = __builtin_ia32_crc32di(c, word);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = __builtin_ia32_crc32qi(c32, static_cast<unsigned char>(*p));
  return ~c32;
}
const bool kHaveSse42 = __builtin_cpu_supports("sse4.2");
}  // namespace
#endif

uint32_t Crc32c(std::string_view data, uint32_t crc) {
#if defined(__x86_64__)
  if (kHaveSse42) return Crc32cSse42(data, crc);
#endif
  return Crc32cPortable(data, crc);
}

}  // namespace aos
