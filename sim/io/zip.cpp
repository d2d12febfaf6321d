#include "sim/io/zip.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>

#include "ai8xsim/files.h"

namespace ai8xsim {

namespace {

constexpr uint32_t kLocalSig = 0x04034b50;
constexpr uint32_t kCentralSig = 0x02014b50;
constexpr uint32_t kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50;
constexpr uint32_t kZip64LocatorSig = 0x07064b50;
constexpr size_t kEndSize = 22;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;
constexpr size_t kZip64EndSize = 56;
constexpr size_t kZip64LocatorSize = 20;
// Deflate cannot expand data by more than about 1032:1; larger claims are corrupt.
constexpr uint64_t kMaxDeflateRatio = 1032;

uint16_t le16(const std::string& b, uint64_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[at]) |
                               static_cast<uint8_t>(b[at + 1]) << 8);
}

uint32_t le32(const std::string& b, uint64_t at) {
  return static_cast<uint32_t>(le16(b, at)) | static_cast<uint32_t>(le16(b, at + 2)) << 16;
}

uint64_t le64(const std::string& b, uint64_t at) {
  return static_cast<uint64_t>(le32(b, at)) | static_cast<uint64_t>(le32(b, at + 4)) << 32;
}

// True when [at, at + len) lies inside a buffer of `size` bytes (no overflow).
bool fits(uint64_t size, uint64_t at, uint64_t len) { return at <= size && len <= size - at; }

[[maybe_unused]] std::string hex32(uint32_t v) {  // unused when fuzzing (no CRC check)
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string method_name(uint16_t m) {
  switch (m) {
    case 12: return "bzip2";
    case 14: return "LZMA";
    case 93: return "Zstandard";
    case 95: return "XZ";
    case 99: return "AES encryption";
    default: return "method " + std::to_string(m);
  }
}

}  // namespace

ZipArchive ZipArchive::open(const std::string& path, ErrorKind kind) {
  return from_bytes(read_file(path), path, kind);
}

ZipArchive ZipArchive::from_bytes(std::string bytes, const std::string& name, ErrorKind kind) {
  ZipArchive z;
  z.name_ = name;
  z.bytes_ = std::move(bytes);
  z.kind_ = kind;
  z.parse();
  return z;
}

ZipArchive ZipArchive::open(const std::string& path, ErrorKind kind, const LoadLimits& limits) {
  ZipArchive z = from_bytes(read_file(path, limits.max_bytes, limits.basis), path, kind);
  z.limit(limits.max_bytes, limits.basis);
  return z;
}

void ZipArchive::limit(uint64_t max_bytes, const std::string& basis) {
  budget_ = max_bytes;
  basis_ = basis;
}

bool ZipArchive::looks_like_zip(const std::string& bytes) {
  if (bytes.size() < 4) return false;
  const uint32_t sig = le32(bytes, 0);
  return sig == kLocalSig || sig == kEndSig;
}

void ZipArchive::error(const std::string& what) const {
  fail(kind_, "file " + name_ + ": " + what);
}

void ZipArchive::entry_error(const ZipEntry& e, const std::string& what) const {
  fail(kind_, "file " + name_ + ", zip entry '" + e.name + "': " + what);
}

namespace {

// Finds the end-of-central-directory record, searching back over a possible comment.
bool find_end_record(const std::string& b, uint64_t& at) {
  if (b.size() < kEndSize) return false;
  const uint64_t last = b.size() - kEndSize;
  const uint64_t first = last > 0xffff ? last - 0xffff : 0;
  for (uint64_t pos = last + 1; pos-- > first;) {
    if (le32(b, pos) != kEndSig) continue;
    if (pos + kEndSize + le16(b, pos + 20) <= b.size()) {
      at = pos;
      return true;
    }
  }
  return false;
}

}  // namespace

namespace {

// Reads the ZIP64 extended-information extra field: the 8-byte values of the entry fields that
// hold 0xffffffff, in the order uncompressed size, compressed size, local header offset.
// Returns false when the field is too short.
bool read_zip64_extra(const std::string& b, uint64_t x, uint64_t x_end, ZipEntry& e) {
  while (x + 4 <= x_end) {
    const uint16_t id = le16(b, x), len = le16(b, x + 2);
    if (x + 4 + len > x_end) return false;
    if (id == 0x0001) {
      uint64_t f = x + 4;
      for (uint64_t* field : {&e.uncompressed_size, &e.compressed_size, &e.local_header_offset}) {
        if (*field != 0xffffffffu) continue;
        if (f + 8 > x + 4 + len) return false;
        *field = le64(b, f);
        f += 8;
      }
    }
    x += 4 + len;
  }
  return true;
}

}  // namespace

// The end-of-central-directory record, and its ZIP64 version when there is one.
void ZipArchive::read_end_record(uint64_t& entries, uint64_t& cd_offset, uint64_t& cd_size) const {
  const std::string& b = bytes_;
  uint64_t end_at = 0;
  if (!find_end_record(b, end_at)) {
    if (b.size() < kEndSize) error("truncated: " + std::to_string(b.size()) +
                                   " bytes, too short for a zip archive");
    if (looks_like_zip(b)) error("truncated zip archive: no end-of-central-directory record");
    error("not a zip archive (no end-of-central-directory record)");
  }
  if (le16(b, end_at + 4) != 0 || le16(b, end_at + 6) != 0)
    error("multi-disk (split) zip archives are not supported");
  entries = le16(b, end_at + 10);
  cd_size = le32(b, end_at + 12);
  cd_offset = le32(b, end_at + 16);
  uint64_t records_start = end_at;  // the central directory must end before this
  const bool has_locator = end_at >= kZip64LocatorSize &&
                           le32(b, end_at - kZip64LocatorSize) == kZip64LocatorSig;
  if (has_locator) {
    const uint64_t z64 = le64(b, end_at - kZip64LocatorSize + 8);
    if (!fits(b.size(), z64, kZip64EndSize) || le32(b, z64) != kZip64EndSig)
      error("corrupt ZIP64 end-of-central-directory record (at offset " + std::to_string(z64) +
            ")");
    entries = le64(b, z64 + 32);
    cd_size = le64(b, z64 + 40);
    cd_offset = le64(b, z64 + 48);
    records_start = z64;
  } else if (entries == 0xffff || cd_size == 0xffffffffu || cd_offset == 0xffffffffu) {
    error("ZIP64 archive without its ZIP64 end-of-central-directory locator (truncated?)");
  }
  if (!fits(records_start, cd_offset, cd_size))
    error("truncated or corrupt: the central directory (offset " + std::to_string(cd_offset) +
          ", " + std::to_string(cd_size) + " bytes) lies outside the file of " +
          std::to_string(b.size()) + " bytes");
  if (entries > cd_size / kCentralSize)
    error("corrupt central directory: " + std::to_string(entries) + " entries cannot fit in " +
          std::to_string(cd_size) + " bytes");
}

// One central-directory header at `pos`; advances `pos` past it.
ZipEntry ZipArchive::read_central_entry(uint64_t& pos, uint64_t cd_end, uint64_t index) const {
  const std::string& b = bytes_;
  if (!fits(cd_end, pos, kCentralSize) || le32(b, pos) != kCentralSig)
    error("corrupt central directory: entry " + std::to_string(index) + " at offset " +
          std::to_string(pos) + " has no valid header");
  ZipEntry e;
  e.flags = le16(b, pos + 8);
  e.method = le16(b, pos + 10);
  e.crc32 = le32(b, pos + 16);
  e.compressed_size = le32(b, pos + 20);
  e.uncompressed_size = le32(b, pos + 24);
  const uint16_t name_len = le16(b, pos + 28), extra_len = le16(b, pos + 30);
  const uint16_t comment_len = le16(b, pos + 32), disk = le16(b, pos + 34);
  e.local_header_offset = le32(b, pos + 42);
  const uint64_t var_len = uint64_t{name_len} + extra_len + comment_len;
  if (!fits(cd_end, pos + kCentralSize, var_len))
    error("corrupt central directory: entry " + std::to_string(index) + " runs past its end");
  e.name = b.substr(pos + kCentralSize, name_len);
  const uint64_t extra = pos + kCentralSize + name_len;
  if (!read_zip64_extra(b, extra, extra + extra_len, e))
    entry_error(e, "corrupt extra field (ZIP64 information) in the central directory");
  if (disk != 0 && disk != 0xffff) entry_error(e, "lies on another disk of a split archive");
  pos += kCentralSize + var_len;
  return e;
}

void ZipArchive::parse() {
  uint64_t entries = 0, cd_offset = 0, cd_size = 0;
  read_end_record(entries, cd_offset, cd_size);
  uint64_t pos = cd_offset;
  entries_.reserve(entries);
  for (uint64_t i = 0; i < entries; ++i)
    entries_.push_back(read_central_entry(pos, cd_offset + cd_size, i));
}

const ZipEntry* ZipArchive::find(const std::string& entry_name) const {
  for (const ZipEntry& e : entries_)
    if (e.name == entry_name) return &e;
  return nullptr;
}

uint64_t ZipArchive::data_offset(const ZipEntry& e) const {
  const std::string& b = bytes_;
  const uint64_t at = e.local_header_offset;
  if (!fits(b.size(), at, kLocalSize) || le32(b, at) != kLocalSig)
    entry_error(e, "truncated or corrupt: no local file header at offset " + std::to_string(at));
  const uint64_t start = at + kLocalSize + le16(b, at + 26) + le16(b, at + 28);
  if (!fits(b.size(), start, e.compressed_size))
    entry_error(e, "truncated: its " + std::to_string(e.compressed_size) +
                       " bytes of data run past the end of the file (" +
                       std::to_string(b.size()) + " bytes)");
  return start;
}

namespace {

// Raw deflate into exactly `size` bytes. Returns an empty string on success, else the reason.
std::string inflate_raw(const char* in, uint64_t in_len, std::string& out) {
  z_stream zs{};
  if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) return "zlib initialisation failed";
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in));
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  uint64_t in_left = in_len, out_left = out.size();
  int rc = Z_OK;
  while (rc == Z_OK) {
    const uInt in_chunk = static_cast<uInt>(std::min<uint64_t>(in_left, 1u << 30));
    const uInt out_chunk = static_cast<uInt>(std::min<uint64_t>(out_left, 1u << 30));
    zs.avail_in = in_chunk;
    zs.avail_out = out_chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    in_left -= in_chunk - zs.avail_in;
    out_left -= out_chunk - zs.avail_out;
    if (rc == Z_OK && zs.avail_in == in_chunk && zs.avail_out == out_chunk) break;
  }
  inflateEnd(&zs);
  if (rc == Z_STREAM_END && out_left == 0) return "";
  if (rc == Z_DATA_ERROR) return "corrupt deflate data";
  if (rc == Z_STREAM_END) return "deflate data ends " + std::to_string(out_left) +
                                 " bytes short of the declared size";
  if (out_left == 0) return "deflate data holds more than the declared " +
                            std::to_string(out.size()) + " bytes";
  return "truncated deflate data";
}

}  // namespace

std::string ZipArchive::read(const ZipEntry& e) const {
  if (e.flags & 0x1) entry_error(e, "is encrypted; encrypted zip entries are not supported");
  if (e.method != 0 && e.method != 8)
    entry_error(e, "unsupported compression (" + method_name(e.method) +
                       "); supported: stored (0) and deflate (8)");
  const uint64_t start = data_offset(e);
  if (e.uncompressed_size > budget_)
    entry_error(e, "declares " + std::to_string(e.uncompressed_size) + " bytes, beyond the " +
                       std::to_string(budget_) + " bytes left of the limit of this file (" +
                       basis_ + "); not inflated");
  if (budget_ != UINT64_MAX) budget_ -= e.uncompressed_size;
  std::string out;
  if (e.method == 0) {
    if (e.compressed_size != e.uncompressed_size)
      entry_error(e, "stored entry with compressed size " + std::to_string(e.compressed_size) +
                         " != uncompressed size " + std::to_string(e.uncompressed_size));
    out = bytes_.substr(start, e.compressed_size);
  } else {
    if (e.uncompressed_size / kMaxDeflateRatio > e.compressed_size + 64)
      entry_error(e, "corrupt: declares " + std::to_string(e.uncompressed_size) +
                         " bytes from only " + std::to_string(e.compressed_size) +
                         " compressed bytes");
    out.assign(e.uncompressed_size, '\0');
    const std::string why = inflate_raw(bytes_.data() + start, e.compressed_size, out);
    if (!why.empty()) entry_error(e, why + " (the file is corrupt)");
  }
  uint32_t crc = 0;
  for (uint64_t done = 0; done < out.size();) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(out.size() - done, 1u << 30));
    crc = static_cast<uint32_t>(
        crc32(crc, reinterpret_cast<const Bytef*>(out.data() + done), chunk));
    done += chunk;
  }
#ifndef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION  // fuzzing: mutated entries reach the parsers
  if (crc != e.crc32)
    entry_error(e, "bad CRC-32: computed " + hex32(crc) + ", the archive says " + hex32(e.crc32) +
                       " (the file is corrupt)");
#else
  (void)crc;
#endif
  return out;
}

std::string ZipArchive::read(const std::string& entry_name) const {
  const ZipEntry* e = find(entry_name);
  if (!e) error("no zip entry named '" + entry_name + "'");
  return read(*e);
}

}  // namespace ai8xsim
