// ai8xsim: how a kernel splits one layer's work over threads. The engine owns the threads
// (sim/engine/thread_pool.h) and hands the kernels this interface; the kernels know nothing
// of how the threads are kept.
#pragma once
#include <functional>

namespace ai8xsim::kernels {

class ParallelFor {
 public:
  virtual ~ParallelFor() = default;
  // Threads that take part, the calling one included.
  virtual int threads() const = 0;
  // Calls fn(0) .. fn(n-1), spread over the threads, and returns when all are done.
  virtual void run(int n, const std::function<void(int)>& fn) = 0;
};

}  // namespace ai8xsim::kernels
