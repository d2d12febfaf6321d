#include "ai8xsim/outputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>

#include "ai8xsim/error.h"

namespace ai8xsim {

namespace {

// ---- paths registered for removal on a signal -------------------------------------------------
// Fixed slots of strdup'ed paths; the handler reads them with lock-free atomic loads only.
constexpr size_t kSlots = 4096;
std::atomic<char*> g_files[kSlots];
std::atomic<char*> g_dirs[kSlots];  // in creation order (parents first)

void register_path(std::atomic<char*>* slots, const std::string& path) {
  char* copy = ::strdup(path.c_str());
  if (!copy) return;
  for (size_t i = 0; i < kSlots; ++i) {
    char* expected = nullptr;
    if (slots[i].compare_exchange_strong(expected, copy)) return;
  }
  std::free(copy);  // more than kSlots pending outputs: removed on errors, not on signals
}

void unregister_path(std::atomic<char*>* slots, const std::string& path) {
  for (size_t i = 0; i < kSlots; ++i) {
    char* p = slots[i].load();
    if (p && path == p && slots[i].compare_exchange_strong(p, nullptr)) {
      std::free(p);
      return;
    }
  }
}

extern "C" void remove_outputs_and_die(int sig) {
  for (auto& slot : g_files)
    if (const char* p = slot.load()) ::unlink(p);
  for (size_t i = kSlots; i-- > 0;)
    if (const char* p = g_dirs[i].load()) ::rmdir(p);
  ::signal(sig, SIG_DFL);
  ::raise(sig);  // delivered when the handler returns: the process ends by this signal
}

// Holds SIGINT, SIGTERM and SIGHUP back while the renames run (they take microseconds).
class HoldSignals {
 public:
  HoldSignals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
  }
  ~HoldSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }

 private:
  sigset_t old_;
};

// ---- files --------------------------------------------------------------------------------------

std::string errno_text() { return std::strerror(errno); }

[[noreturn]] void out_fail(const std::string& option, const std::string& path,
                           const std::string& what) {
  fail(ErrorKind::IO, (option.empty() ? "file " : option + " ") + path + ": " + what);
}

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

const char* file_type(mode_t m) {
  if (S_ISDIR(m)) return "a directory";
  if (S_ISFIFO(m)) return "a FIFO (named pipe)";
  if (S_ISCHR(m)) return "a character device";
  if (S_ISBLK(m)) return "a block device";
  if (S_ISSOCK(m)) return "a socket";
  return "not a regular file";
}

// `path` without "." components and repeated slashes (for comparing paths not yet on disk).
std::string tidy(const std::string& path) {
  std::string out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string::npos) next = path.size();
    const std::string part = path.substr(pos, next - pos);
    if (!part.empty() && part != ".") out += (out.empty() && path[0] != '/' ? "" : "/") + part;
    pos = next + 1;
  }
  return out.empty() ? (path.size() && path[0] == '/' ? "/" : ".") : out;
}

// The longest existing prefix of `path` resolved by realpath, then the rest: one spelling per
// file, for finding two options that name the same file.
std::string canonical(const std::string& path) {
  std::string head = tidy(path), tail;
  for (;;) {
    char buf[PATH_MAX];
    if (::realpath(head.c_str(), buf)) return std::string(buf) + tail;
    const size_t slash = head.find_last_of('/');
    if (slash == std::string::npos) {
      if (::realpath(".", buf)) return std::string(buf) + "/" + head + tail;
      return head + tail;
    }
    tail = head.substr(slash) + tail;
    head = slash == 0 ? "/" : head.substr(0, slash);
  }
}

void write_all(int fd, const std::string& contents, const std::string& option,
               const std::string& path, const std::string& tmp) {
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string reason = n == 0 ? "nothing written" : errno_text();
      out_fail(option, path, "cannot write the temporary file " + tmp + ": " + reason +
                                 (errno == EFBIG ? " (the file size limit, ulimit -f)" : ""));
    }
    done += static_cast<size_t>(n);
  }
}

std::string random_suffix() {
  static std::atomic<uint64_t> counter{0};
  uint64_t x = (static_cast<uint64_t>(::getpid()) << 32) ^ counter.fetch_add(1) ^
               static_cast<uint64_t>(reinterpret_cast<uintptr_t>(&x));
  x ^= static_cast<uint64_t>(::time(nullptr)) * 0x9e3779b97f4a7c15ull;
  static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::string s;
  for (int i = 0; i < 6; ++i) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    s += chars[x % 62];
  }
  return s;
}

}  // namespace

void install_output_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = remove_outputs_and_die;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&sa.sa_mask, s);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) {
    struct sigaction old {};
    sigaction(s, nullptr, &old);
    if (old.sa_handler != SIG_IGN) sigaction(s, &sa, nullptr);  // keep nohup's SIG_IGN
  }
  ::signal(SIGXFSZ, SIG_IGN);
}

OutputTransaction::~OutputTransaction() {
  if (!done_) rollback();
}

void OutputTransaction::add(const std::string& option, const std::string& path,
                            std::string contents) {
  files_.push_back({option, path, std::move(contents), false, "", "", ""});
}

void OutputTransaction::add_written(const std::string& option, const std::string& path,
                                    const std::string& tmp) {
  files_.push_back({option, path, "", true, "", tmp, ""});
}

OutputTemporary create_output_temporary(const std::string& option, const std::string& path) {
  const std::string dir = directory_of(path);
  // The name is registered for signals before the file exists (as mkstemp, but a signal
  // between creating and registering would leave the file behind).
  for (int attempt = 0;; ++attempt) {
    const std::string name = dir + "/." + base_name(path) + ".tmp." + random_suffix();
    register_path(g_files, name);
    const int fd = ::open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return {name, fd};
    const int err = errno;
    unregister_path(g_files, name);
    if (err != EEXIST || attempt > 100)
      out_fail(option, path, "cannot write it: cannot create a file in the directory " + dir +
                                 ": " + std::strerror(err));
  }
}

void discard_output_temporary(const std::string& name) {
  ::unlink(name.c_str());
  unregister_path(g_files, name);
}

void OutputTransaction::add_directory(const std::string& option, const std::string& dir,
                                      std::function<bool(const std::string&)> own) {
  dirs_.push_back({option, dir, std::move(own)});
}

// Every target checked before anything is written.
void OutputTransaction::check() {
  std::map<std::string, const std::string*> seen;  // canonical path -> option
  for (const Directory& d : dirs_) {
    if (d.path.empty())
      fail(ErrorKind::IO, d.option + ": an empty directory name; give a directory, or leave " +
                              d.option + " out");
    struct stat st {};
    if (::stat(d.path.c_str(), &st) == 0 && !S_ISDIR(st.st_mode))
      out_fail(d.option, d.path, std::string("exists and is ") + file_type(st.st_mode) +
                                     ", not a directory; give a directory");
  }
  for (File& f : files_) {
    if (f.path.empty())
      fail(ErrorKind::IO,
           f.option + ": an empty file name; give a file, or leave " + f.option + " out");
    f.target = f.path;
    struct stat st {};
    if (::stat(f.path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
      out_fail(f.option, f.path,
               std::string("is ") + file_type(st.st_mode) +
                   (S_ISDIR(st.st_mode) ? "" : ", not a regular file") +
                   "; outputs are written only to regular files (a directory, device, FIFO or "
                   "socket is never replaced); give a file name, or leave " + f.option +
                   " out");
    if (::lstat(f.path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      if (!::realpath(f.path.c_str(), buf))
        out_fail(f.option, f.path, "a symbolic link to a file that cannot be reached (" +
                                       errno_text() + "); give a file or a link to one");
      f.target = buf;
    }
    const std::string key = canonical(f.target);
    auto [it, fresh] = seen.emplace(key, &f.option);
    if (!fresh)
      out_fail(f.option, f.path, "the same file as " + *it->second +
                                     "; give each output its own file");
    const std::string dir = directory_of(f.target);
    bool made_here = false;
    for (const Directory& d : dirs_)
      if (canonical(dir).rfind(canonical(d.path), 0) == 0) made_here = true;
    if (made_here) continue;
    if (::stat(dir.c_str(), &st) != 0)
      out_fail(f.option, f.path,
               "cannot write it: the directory " + dir + " " +
                   (errno == ENOENT ? std::string("does not exist (create it first)")
                                    : "cannot be accessed: " + errno_text()));
    if (!S_ISDIR(st.st_mode))
      out_fail(f.option, f.path, "cannot write it: " + dir + " is not a directory");
  }
}

// Directories made and every temporary written in full; each registered for signals.
void OutputTransaction::stage() {
  for (const Directory& d : dirs_) {
    size_t pos = 0;
    while (pos != std::string::npos) {
      pos = d.path.find('/', pos + 1);
      const std::string partial = d.path.substr(0, pos);
      if (partial.empty()) continue;
      if (::mkdir(partial.c_str(), 0777) == 0) {
        created_dirs_.push_back(partial);
        register_path(g_dirs, partial);
      } else if (errno != EEXIST) {
        out_fail(d.option, d.path, "cannot create " + partial + ": " + errno_text());
      }
    }
    struct stat st {};
    if (::stat(d.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      out_fail(d.option, d.path, "exists but is not a directory");
  }
  for (File& f : files_) {
    if (f.written) continue;
    const OutputTemporary t = create_output_temporary(f.option, f.target);
    f.tmp = t.name;
    const int fd = t.fd;
    try {
      write_all(fd, f.contents, f.option, f.path, f.tmp);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::fchmod(fd, 0644);
    if (::close(fd) != 0)
      out_fail(f.option, f.path, "cannot finish the temporary file " + f.tmp + ": " +
                                     errno_text());
    std::string().swap(f.contents);  // written: the memory is not needed any more
  }
}

void OutputTransaction::rename_all() {
  HoldSignals hold;
  for (File& f : files_) {  // the old outputs kept until every rename has succeeded
    struct stat st {};
    if (::stat(f.target.c_str(), &st) != 0) continue;
    const std::string backup = f.tmp + ".old";
    if (::link(f.target.c_str(), backup.c_str()) == 0) {
      f.backup = backup;
      register_path(g_files, backup);
    }
  }
  for (size_t i = 0; i < files_.size(); ++i) {
    File& f = files_[i];
    if (::rename(f.tmp.c_str(), f.target.c_str()) == 0) continue;
    const std::string reason = errno_text();
    for (size_t j = 0; j < i; ++j) {  // put back what was replaced, remove what was new
      File& g = files_[j];
      if (!g.backup.empty() && ::rename(g.backup.c_str(), g.target.c_str()) == 0)
        g.backup.clear();
      else if (g.backup.empty())
        ::unlink(g.target.c_str());
      g.tmp.clear();
    }
    out_fail(f.option, f.path, "cannot replace it with " + f.tmp + ": " + reason);
  }
  for (File& f : files_) {
    unregister_path(g_files, f.tmp);
    f.tmp.clear();
    if (!f.backup.empty()) {
      ::unlink(f.backup.c_str());
      unregister_path(g_files, f.backup);
      f.backup.clear();
    }
  }
}

void OutputTransaction::rollback() {
  for (File& f : files_) {
    for (std::string* p : {&f.tmp, &f.backup}) {
      if (p->empty()) continue;
      ::unlink(p->c_str());
      unregister_path(g_files, *p);
      p->clear();
    }
  }
  for (size_t i = created_dirs_.size(); i-- > 0;) {
    ::rmdir(created_dirs_[i].c_str());
    unregister_path(g_dirs, created_dirs_[i]);
  }
  created_dirs_.clear();
}

void OutputTransaction::commit() {
  try {
    check();
    stage();
    rename_all();
  } catch (...) {
    rollback();
    throw;
  }
  done_ = true;
  for (const std::string& d : created_dirs_) unregister_path(g_dirs, d);
  // Files of an earlier run left in an output directory.
  for (const Directory& d : dirs_) {
    if (!d.own) continue;
    const std::string dir_key = canonical(d.path);
    DIR* dir = ::opendir(d.path.c_str());
    if (!dir) continue;
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(dir)) {
      const std::string name = e->d_name;
      if (!d.own(name)) continue;
      bool written = false;
      for (const File& f : files_)
        if (canonical(f.target) == dir_key + "/" + name) written = true;
      if (!written) stale.push_back(d.path + "/" + name);
    }
    ::closedir(dir);
    for (const std::string& s : stale) ::unlink(s.c_str());
  }
}

}  // namespace ai8xsim
