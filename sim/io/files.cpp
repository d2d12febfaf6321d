#include "sim/io/files.h"

#include <fcntl.h>
#include <sys/mman.h>
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

std::string directory_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

void write_all(int fd, const std::string& contents, const std::string& tmp,
               const std::string& path) {
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = errno_text();
      ::close(fd);
      ::unlink(tmp.c_str());
      io_fail(path, "cannot write the temporary file " + tmp + ": " + reason);
    }
    done += static_cast<size_t>(n);
  }
}

void make_directories(const std::string& dir) {
  if (dir.empty()) return;
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    partial = dir.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), 0777) != 0 && errno != EEXIST)
      fail(ErrorKind::IO, "directory " + dir + ": cannot create " + partial + ": " + errno_text());
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(ErrorKind::IO, "directory " + dir + ": exists but is not a directory");
}

}  // namespace

std::string read_file(const std::string& path) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (!f) io_fail(path, "cannot open: " + errno_text());
  struct stat st {};
  if (::fstat(::fileno(f.get()), &st) == 0 && S_ISDIR(st.st_mode))
    io_fail(path, "is a directory, expected a file");
  std::string data;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) data.append(buf, n);
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

namespace {

// An empty temporary file next to `path`, open for writing: its name and descriptor.
std::pair<std::string, int> create_temporary(const std::string& path) {
  if (path.empty()) fail(ErrorKind::IO, "cannot write a file with an empty name");
  const std::string dir = directory_of(path);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    io_fail(path, "cannot write it: the directory " + dir + " " +
                      (errno == ENOENT ? std::string("does not exist (create it first)")
                                       : "cannot be accessed: " + errno_text()));
  if (!S_ISDIR(st.st_mode)) io_fail(path, "cannot write it: " + dir + " is not a directory");
  std::string tmp = dir + "/." + base_name(path) + ".tmp.XXXXXX";
  std::vector<char> tmpl(tmp.begin(), tmp.end());
  tmpl.push_back('\0');
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0)
    io_fail(path, "cannot write it: cannot create a file in the directory " + dir + ": " +
                      errno_text());
  return {tmpl.data(), fd};
}

// The contents in a complete temporary file next to `path`; returns the temporary's name.
std::string write_temporary(const std::string& path, const std::string& contents) {
  const auto [tmp, fd] = create_temporary(path);
  write_all(fd, contents, tmp, path);
  ::fchmod(fd, 0644);
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    io_fail(path, "cannot finish the temporary file " + tmp + ": " + reason);
  }
  return tmp;
}

void rename_over(const std::string& tmp, const std::string& path) {
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = errno_text();
    ::unlink(tmp.c_str());
    io_fail(path, "cannot replace it with " + tmp + ": " + reason);
  }
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  rename_over(write_temporary(path, contents), path);
}

// Every file is first written in full to its temporary; only when all of them are complete are
// they renamed into place, so a failure (a full disk, a directory that cannot be written) leaves
// none of the new files behind.
void write_files_atomically(const std::vector<PendingFile>& files, const std::string& directory) {
  make_directories(directory);
  std::vector<std::string> temporaries;
  try {
    for (const PendingFile& f : files)
      temporaries.push_back(f.written.empty() ? write_temporary(f.path, f.contents) : f.written);
  } catch (...) {
    for (const std::string& t : temporaries) ::unlink(t.c_str());
    for (const PendingFile& f : files)
      if (!f.written.empty()) ::unlink(f.written.c_str());
    throw;
  }
  for (size_t i = 0; i < files.size(); ++i) {
    try {
      rename_over(temporaries[i], files[i].path);
    } catch (...) {
      for (size_t j = i + 1; j < files.size(); ++j) ::unlink(temporaries[j].c_str());
      throw;
    }
  }
}

OutputMapping::OutputMapping(const std::string& path, size_t size) : path_(path), size_(size) {
  std::tie(tmp_, fd_) = create_temporary(path);
  int rc = size ? ::posix_fallocate(fd_, 0, static_cast<off_t>(size)) : 0;
  if (rc == EINVAL || rc == EOPNOTSUPP)  // a file system without fallocate
    rc = ::ftruncate(fd_, static_cast<off_t>(size)) == 0 ? 0 : errno;
  if (rc == 0 && size) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd_, 0);
    if (p == MAP_FAILED) rc = errno;
    else data_ = static_cast<char*>(p);
  }
  if (rc != 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
    io_fail(path, "cannot write it: cannot reserve " + std::to_string(size) +
                      " bytes in the temporary file " + tmp_ + ": " + std::strerror(rc));
  }
}

OutputMapping::~OutputMapping() {
  if (data_) ::munmap(data_, size_);
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

PendingFile OutputMapping::finish() {
  int rc = data_ && ::msync(data_, size_, MS_SYNC) != 0 ? errno : 0;
  if (data_) ::munmap(data_, size_);
  data_ = nullptr;
  ::fchmod(fd_, 0644);
  if (rc == 0 && ::fsync(fd_) != 0) rc = errno;
  if (::close(fd_) != 0 && rc == 0) rc = errno;
  fd_ = -1;
  if (rc != 0) {
    ::unlink(tmp_.c_str());
    io_fail(path_, "cannot finish the temporary file " + tmp_ + ": " + std::strerror(rc));
  }
  return PendingFile{path_, {}, tmp_};
}

}  // namespace ai8xsim
