// Codec: the byte-level building blocks of everything the runtime stores —
// LEB128 varints, zigzag signed integers, length-prefixed strings, CRC-32C,
// big-endian keys, and a compact, typed binary encoding of Value that keeps
// every kind apart (an int stays an int, money keeps its currency), unlike
// JSON. docs/event_log_format.md gives the grammar.
//
// Decoding never trusts its input: every read is bounds-checked, nesting is
// bounded, and a bad byte makes the Reader fail (ok() == false) rather than
// crash; callers then report the record as corrupt.
#ifndef AOS_RUNTIME_CODEC_H_
#define AOS_RUNTIME_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "lang/value.h"

namespace aos {

void PutVarint(std::string& out, uint64_t v);
void PutSigned(std::string& out, int64_t v);  // zigzag, then varint
void PutBytes(std::string& out, std::string_view s);  // varint length, bytes
void PutFixed32(std::string& out, uint32_t v);  // little endian
void PutBigEndian64(std::string& out, uint64_t v);
uint64_t GetBigEndian64(std::string_view s);  // precondition: s.size() >= 8

void PutValue(std::string& out, const Value& v);
std::string EncodeValue(const Value& v);

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }
  std::string_view rest() const { return in_.substr(pos_); }

  uint8_t Byte();
  uint64_t Varint();
  int64_t Signed();
  std::string_view Bytes();
  uint32_t Fixed32();
  Value ReadValue() { return ReadValue(0); }

  // Marks the input bad (a caller found a semantic problem).
  void Fail() { ok_ = false; }

 private:
  Value ReadValue(int depth);
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Decodes a value written by EncodeValue; false when `in` is not exactly one.
bool DecodeValue(std::string_view in, Value* out);

// A stable, non-cryptographic digest of text (FNV-1a 64, 16 hex digits):
// source and payload hashes, cache keys, Message-IDs, trace ids.
std::string Digest(std::string_view text);

// CRC-32C (Castagnoli), as in iSCSI and RocksDB's block checksums.
uint32_t Crc32c(std::string_view data, uint32_t crc = 0);
// The same, a byte at a time from a table (what Crc32c does on a processor
// without SSE 4.2; tests compare the two).
uint32_t Crc32cPortable(std::string_view data, uint32_t crc = 0);

}  // namespace aos

#endif  // AOS_RUNTIME_CODEC_H_
