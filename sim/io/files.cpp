#include "ai8xsim/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <tuple>
#include <utility>

#include "ai8xsim/error.h"
#include "ai8xsim/outputs.h"

namespace ai8xsim {

namespace {

constexpr size_t kMaxGunzipBytes = size_t{1} << 30;

[[noreturn]] void io_fail(const std::string& path, const std::string& what) {
  fail(ErrorKind::IO, "file " + path + ": " + what);
}

std::string errno_text() { return std::strerror(errno); }

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};

}  // namespace

std::string read_file(const std::string& path) { return read_file(path, UINT64_MAX, ""); }

std::string read_file(const std::string& path, uint64_t max_bytes, const std::string& basis) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) io_fail(path, "cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(::fileno(f.get()), &st) == 0 && S_ISDIR(st.st_mode))
    io_fail(path, "is a directory, expected a file");
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > max_bytes)
    io_fail(path, std::to_string(st.st_size) + " bytes, more than the " +
                      std::to_string(max_bytes) + " bytes allowed (" + basis + "); not read");
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    data.append(buf, n);
    if (data.size() > max_bytes)
      io_fail(path, "more than the " + std::to_string(max_bytes) + " bytes allowed (" + basis +
                        "); not read");
  }
  if (std::ferror(f.get())) io_fail(path, "read error: " + errno_text());
  return data;
}

std::string gunzip(const std::string& data, const std::string& what) {
  std::string out;
  size_t consumed = 0;
  char buf[1 << 16];
  while (consumed < data.size()) {  // one iteration per gzip member
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail(ErrorKind::Internal, "zlib init failed");
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data() + consumed));
    zs.avail_in = static_cast<uInt>(std::min<size_t>(data.size() - consumed, 1u << 30));
    int rc = Z_OK;
    while (rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      out.append(buf, sizeof buf - zs.avail_out);
      if (out.size() > kMaxGunzipBytes) {
        inflateEnd(&zs);
        fail(ErrorKind::IO, what + ": gzip data expands beyond 1 GiB");
      }
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
    }
    const size_t used = zs.total_in;
    inflateEnd(&zs);
    if (rc != Z_STREAM_END) {
      const std::string reason = rc == Z_DATA_ERROR   ? "corrupt gzip data"
                                 : rc == Z_BUF_ERROR ? "truncated gzip data"
                                                     : "gzip error " + std::to_string(rc);
      fail(ErrorKind::IO, what + ": " + reason);
    }
    consumed += used;
  }
  if (data.empty()) fail(ErrorKind::IO, what + ": empty file, expected gzip data");
  return out;
}

std::string gunzip_file(const std::string& path) { return gunzip(read_file(path), "file " + path); }

void write_file_atomically(const std::string& path, const std::string& contents) {
  OutputTransaction t;
  t.add("", path, contents);
  t.commit();
}

void write_files_atomically(const std::vector<PendingFile>& files, const std::string& directory) {
  OutputTransaction t;
  if (!directory.empty()) t.add_directory("", directory);
  for (const PendingFile& f : files) {
    if (f.written.empty())
      t.add(f.option, f.path, f.contents);
    else
      t.add_written(f.option, f.path, f.written);
  }
  t.commit();
}

OutputFile::OutputFile(const std::string& path, size_t size) : path_(path), size_(size) {
  const OutputTemporary t = create_output_temporary("", path);
  tmp_ = t.name;
  fd_ = t.fd;
  int rc = size ? ::posix_fallocate(fd_, 0, static_cast<off_t>(size)) : 0;
  if (rc == EINVAL || rc == EOPNOTSUPP)  // a file system without fallocate
    rc = ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? 0 : errno;
  if (rc != 0) {
    ::close(fd_);
    discard_output_temporary(tmp_);
    io_fail(path, "cannot write it: cannot reserve " + std::to_string(size) +
                      " bytes in the temporary file " + tmp_ + ": " + std::strerror(rc));
  }
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    discard_output_temporary(tmp_);
  }
}

void OutputFile::write(size_t offset, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t w = ::pwrite(fd_, p, bytes, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      int expected = 0;
      error_.compare_exchange_strong(expected, w < 0 ? errno : EIO);
      return;
    }
    p += w;
    offset += static_cast<size_t>(w);
    bytes -= static_cast<size_t>(w);
  }
}

PendingFile OutputFile::finish() {
  int rc = error_.load();
  ::fchmod(fd_, 0644);
  if (::close(fd_) != 0 && rc == 0) rc = errno;
  fd_ = -1;
  if (rc != 0) {
    discard_output_temporary(tmp_);
    io_fail(path_, "cannot write the temporary file " + tmp_ + ": " + std::strerror(rc));
  }
  return PendingFile{path_, {}, "", tmp_};
}

}  // namespace ai8xsim
