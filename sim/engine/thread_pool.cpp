#include "sim/engine/thread_pool.h"

#include <signal.h>

namespace ai8xsim {

namespace {
constexpr int kSpin = 20000;  // polls before sleeping (some tens of microseconds)
inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
}  // namespace

WorkerSignalMask::WorkerSignalMask() {
  static_assert(sizeof(sigset_t) <= sizeof(old_), "sigset_t larger than expected");
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, reinterpret_cast<sigset_t*>(old_));
}

WorkerSignalMask::~WorkerSignalMask() {
  pthread_sigmask(SIG_SETMASK, reinterpret_cast<const sigset_t*>(old_), nullptr);
}

ThreadPool::ThreadPool(int threads) {
  const WorkerSignalMask mask;  // the workers never take the command line's signals
  try {
    for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { work(); });
  } catch (...) {  // a thread the system refuses: stop the others, then report it
    stop();
    throw;
  }
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
}

void ThreadPool::run(int n, const std::function<void(int)>& fn) {
  if (workers_.empty() || n <= 1) {
    for (int i = 0; i < n; ++i) fn(i);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    fn_ = &fn;
    n_ = n;
    next_.store(0);
    running_.store(static_cast<int>(workers_.size()));
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (int i; (i = next_.fetch_add(1)) < n;) fn(i);
  for (int k = 0; k < kSpin && running_.load() != 0; ++k) cpu_relax();
  if (running_.load() != 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return running_.load() == 0; });
  }
}

void ThreadPool::work() {
  uint64_t seen = 0;
  for (;;) {
    for (int k = 0; k < kSpin && generation_.load() == seen && !stop_.load(); ++k) cpu_relax();
    if (generation_.load() == seen && !stop_.load()) {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
    }
    if (stop_.load()) return;
    const std::function<void(int)>* fn;
    int n;
    {
      std::lock_guard<std::mutex> lock(mutex_);  // fn_ and n_ of this generation
      seen = generation_.load();
      fn = fn_;
      n = n_;
    }
    for (int i; (i = next_.fetch_add(1)) < n;) (*fn)(i);
    if (running_.fetch_sub(1) == 1) {
      std::lock_guard<std::mutex> lock(mutex_);
      done_.notify_one();
    }
  }
}

}  // namespace ai8xsim
