// The kernels' worker pool (core/kernels/worker_pool.h): chunks claimed from one atomic word that holds
// the split's generation and its count of unclaimed chunks, workers that spin for a bounded time and then
// sleep on a condition variable, a caller that never waits for a chunk nobody has claimed.
//
// Memory protocol. The caller writes the split's fields (function, context, sizes) and then publishes
// them by storing the claim word with the new generation. A thread reads the fields only after a
// successful claim (a compare-exchange that acquires the published word), and the caller rewrites them
// only after every chunk has finished (it acquires the finished count, to which each chunk adds once
// after its last access). A late worker that still holds an old generation fails its claim, because the
// generation bits no longer match, and so never touches the split's memory or its fields.
#include "core/kernels/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace stepwise::kernels {
namespace {

using Clock = std::chrono::steady_clock;

// How long a worker keeps polling for the next split after finishing one before it sleeps: meant to
// bridge the short gaps between the products of one decode step while costing little when the process
// stops splitting. Longer (1 ms) and preemption-adaptive spins were no faster on a quiet host, and 1 ms
// made a two-thread step 1.45x slower than one thread beside a busy process (docs/performance.md,
// "Thread policy").
constexpr auto kWorkerSpin = std::chrono::microseconds(100);
// How long the caller polls for chunks still running on workers before it sleeps, which lets the
// scheduler run a descheduled worker on the caller's core.
constexpr auto kCallerSpin = std::chrono::microseconds(50);

// The claim word: the split's generation above kChunkBits, its unclaimed chunks below.
constexpr int kChunkBits = 24;
constexpr uint64_t kChunkMask = (uint64_t{1} << kChunkBits) - 1;
constexpr int64_t kMaxChunks = static_cast<int64_t>(kChunkMask);

uint64_t generation_of(uint64_t word) { return word >> kChunkBits; }
int64_t unclaimed_of(uint64_t word) { return static_cast<int64_t>(word & kChunkMask); }

// One step of a polling loop: the CPU's spin-wait hint.
void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// True on the pool's workers and on a caller while its split runs on the pool: a split started there
// runs on the calling thread alone.
thread_local bool inside_split = false;

class WorkerPool {
 public:
  ~WorkerPool();
  // Runs the split on the pool with `threads` threads (the caller and threads - 1 workers) and returns
  // true, or returns false at once when another split holds the pool.
  bool try_run(int threads, int64_t items, SplitPlan plan, ChunkFunction run_chunk, const void* context);
  int workers() const { return worker_count_.load(); }

 private:
  void start_workers(int count);
  void stop_workers();
  void worker_loop(uint64_t seen_generation, int thread);
  // The generation of the first split posted after `seen`, or nullopt when the workers are stopping.
  std::optional<uint64_t> next_split(uint64_t seen);
  // Claims one chunk of split `generation`; false when it has none left unclaimed (or is not current).
  bool claim(uint64_t generation, int64_t& chunk);
  // Claims and runs chunks of split `generation` on `thread` until none is left unclaimed.
  void run_claimed_chunks(uint64_t generation, int thread);
  // Returns once `chunks` chunks of the current split have finished.
  void wait_for_finished(int64_t chunks);

  std::mutex split_mutex_;            // held by the caller whose split runs on the pool
  std::vector<std::thread> threads_;  // the workers (caller of the split only)
  std::atomic<int> worker_count_{0};

  // The current split (see the memory protocol above).
  ChunkFunction run_chunk_ = nullptr;
  const void* context_ = nullptr;
  int64_t items_ = 0, chunk_items_ = 0, chunks_ = 0;
  std::exception_ptr error_;  // the first exception of a chunk (written by the thread that set failed_)

  uint64_t generation_ = 0;  // of the latest split posted (caller of the split only)
  std::atomic<uint64_t> claim_word_{0};
  std::atomic<int64_t> finished_{0};  // chunks of the current split finished
  std::atomic<bool> failed_{false};   // a chunk of the current split threw

  // Sleeping: each side announces itself (sleeping_workers_, caller_sleeping_) under sleep_mutex_ before
  // testing its condition, and the other side tests the announcement after changing the condition
  // (sequentially consistent atomics on both sides), so no wake-up is lost.
  std::mutex sleep_mutex_;
  std::condition_variable work_posted_;     // sleeping workers
  std::condition_variable split_finished_;  // a sleeping caller
  std::atomic<int> sleeping_workers_{0};
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stopping_{false};
};

WorkerPool::~WorkerPool() {
  std::lock_guard<std::mutex> lock(split_mutex_);
  stop_workers();
}

bool WorkerPool::try_run(int threads, int64_t items, SplitPlan plan, ChunkFunction run_chunk, const void* context) {
  std::unique_lock<std::mutex> lock(split_mutex_, std::try_to_lock);
  if (!lock.owns_lock()) return false;
  if (workers() != threads - 1) {
    stop_workers();
    start_workers(threads - 1);
  }
  run_chunk_ = run_chunk;
  context_ = context;
  items_ = items;
  chunk_items_ = plan.chunk_items;
  chunks_ = plan.chunks;
  error_ = nullptr;
  failed_.store(false, std::memory_order_relaxed);
  finished_.store(0, std::memory_order_relaxed);
  ++generation_;
  claim_word_.store((generation_ << kChunkBits) | static_cast<uint64_t>(plan.chunks));  // publishes the fields
  if (sleeping_workers_.load() > 0) {
    { std::lock_guard<std::mutex> wake(sleep_mutex_); }
    work_posted_.notify_all();
  }
  inside_split = true;
  run_claimed_chunks(generation_, 0);
  wait_for_finished(plan.chunks);
  inside_split = false;
  if (failed_.load(std::memory_order_relaxed)) {
    std::exception_ptr error = std::move(error_);
    error_ = nullptr;
    std::rethrow_exception(error);
  }
  return true;
}

void WorkerPool::start_workers(int count) {
  for (int index = 0; index < count; ++index) {
    threads_.emplace_back(&WorkerPool::worker_loop, this, generation_, index + 1);
    worker_count_.store(static_cast<int>(threads_.size()));
  }
}

void WorkerPool::stop_workers() {
  stopping_.store(true);
  { std::lock_guard<std::mutex> wake(sleep_mutex_); }
  work_posted_.notify_all();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  worker_count_.store(0);
  stopping_.store(false);
}

void WorkerPool::worker_loop(uint64_t seen_generation, int thread) {
  inside_split = true;
  while (const std::optional<uint64_t> generation = next_split(seen_generation)) {
    seen_generation = *generation;
    run_claimed_chunks(seen_generation, thread);
  }
}

std::optional<uint64_t> WorkerPool::next_split(uint64_t seen) {
  const Clock::time_point spin_end = Clock::now() + kWorkerSpin;
  do {
    if (stopping_.load(std::memory_order_relaxed)) return std::nullopt;
    const uint64_t generation = generation_of(claim_word_.load(std::memory_order_relaxed));
    if (generation != seen) return generation;
    cpu_relax();
  } while (Clock::now() < spin_end);
  std::unique_lock<std::mutex> lock(sleep_mutex_);
  sleeping_workers_.fetch_add(1);
  work_posted_.wait(lock, [&] { return stopping_.load() || generation_of(claim_word_.load()) != seen; });
  sleeping_workers_.fetch_sub(1);
  if (stopping_.load()) return std::nullopt;
  return generation_of(claim_word_.load());
}

bool WorkerPool::claim(uint64_t generation, int64_t& chunk) {
  uint64_t word = claim_word_.load(std::memory_order_acquire);
  while (generation_of(word) == generation && unclaimed_of(word) > 0) {
    if (claim_word_.compare_exchange_weak(word, word - 1, std::memory_order_acquire, std::memory_order_acquire)) {
      chunk = chunks_ - unclaimed_of(word);
      return true;
    }
  }
  return false;
}

void WorkerPool::run_claimed_chunks(uint64_t generation, int thread) {
  int64_t chunk = 0;
  while (claim(generation, chunk)) {
    const int64_t chunks = chunks_;  // read now: once this chunk counts as finished the fields may change
    if (!failed_.load(std::memory_order_relaxed)) {
      const int64_t begin = chunk * chunk_items_;
      const int64_t end = std::min(items_, begin + chunk_items_);
      try {
        run_chunk_(context_, begin, end, thread);
      } catch (...) {
        if (!failed_.exchange(true)) error_ = std::current_exception();
      }
    }
    if (finished_.fetch_add(1) + 1 == chunks && caller_sleeping_.load()) {
      std::lock_guard<std::mutex> wake(sleep_mutex_);
      split_finished_.notify_one();
    }
  }
}

void WorkerPool::wait_for_finished(int64_t chunks) {
  const Clock::time_point spin_end = Clock::now() + kCallerSpin;
  while (finished_.load(std::memory_order_acquire) != chunks) {
    if (Clock::now() >= spin_end) {
      std::unique_lock<std::mutex> lock(sleep_mutex_);
      caller_sleeping_.store(true);
      split_finished_.wait(lock, [&] { return finished_.load() == chunks; });
      caller_sleeping_.store(false);
      return;
    }
    cpu_relax();
  }
}

// The process's pool, built (without threads) on first use and joined by its destructor at exit.
WorkerPool& pool() {
  static WorkerPool instance;
  return instance;
}

}  // namespace

SplitPlan plan_split(int64_t items, int64_t min_chunk_items, int threads) {
  if (items <= 0) return {};
  if (threads <= 1) return {items, 1};
  const int64_t wanted_chunks = threads * kChunksPerThread;
  const int64_t chunk_items = std::max({int64_t{1}, min_chunk_items, (items + wanted_chunks - 1) / wanted_chunks,
                                        (items + kMaxChunks - 1) / kMaxChunks});
  return {chunk_items, (items + chunk_items - 1) / chunk_items};
}

void run_split(int64_t items, int64_t min_chunk_items, int threads, ChunkFunction run_chunk, const void* context) {
  if (items <= 0) return;
  const SplitPlan plan = plan_split(items, min_chunk_items, threads);
  if (plan.chunks > 1 && !inside_split && pool().try_run(threads, items, plan, run_chunk, context)) return;
  run_chunk(context, 0, items, 0);
}

int pool_workers() { return pool().workers(); }

}  // namespace stepwise::kernels
