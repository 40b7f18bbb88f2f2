// core/kernels/worker_pool: every item of a split runs exactly once, in the planned chunks; split kernel
// products equal the one-thread product bit for bit on random shapes; many splits in a row never run a
// chunk after their split returned; a 1-thread split stays on the caller and starts no thread; the pool
// follows the thread count; workers take chunks while the caller is busy, and a worker held inside a chunk
// leaves the rest to the caller; exceptions reach the caller; nested and concurrent splits. Torch-free.
// Waits inside chunks are bounded by a deadline only so that a broken pool fails instead of hanging;
// nothing here measures speed.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/kernels/worker_pool.h"

namespace stepwise::kernels {
namespace {

constexpr auto kDeadline = std::chrono::seconds(60);

// A chunk as a split ran it.
struct ChunkRecord {
  int64_t begin, end;
  int thread;
};

// Runs one split of `items` and returns its chunks; fails the test when an item ran other than once.
std::vector<ChunkRecord> run_and_record(int64_t items, int64_t min_chunk_items, int threads) {
  std::vector<std::atomic<int>> runs(static_cast<size_t>(items));
  std::mutex mutex;
  std::vector<ChunkRecord> chunks;
  split_work(items, min_chunk_items, threads, [&](int64_t begin, int64_t end, int thread) {
    for (int64_t i = begin; i < end; ++i) runs[static_cast<size_t>(i)].fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex);
    chunks.push_back({begin, end, thread});
  });
  for (int64_t i = 0; i < items; ++i)
    EXPECT_EQ(runs[static_cast<size_t>(i)].load(), 1) << "item " << i << " of " << items << ", threads " << threads;
  return chunks;
}

// The number of threads of this process (/proc/self/task).
int process_threads() {
  DIR* directory = opendir("/proc/self/task");
  if (directory == nullptr) return -1;
  int count = 0;
  while (const dirent* entry = readdir(directory))
    if (entry->d_name[0] != '.') ++count;
  closedir(directory);
  return count;
}

TEST(WorkerPool, PlanCoversTheItemsInChunksOfAtLeastTheMinimum) {
  for (int64_t items : {1, 2, 5, 63, 64, 1000, 99991}) {
    for (int64_t min_chunk : {1, 3, 64, 5000}) {
      for (int threads : {1, 2, 3, 8}) {
        const SplitPlan plan = plan_split(items, min_chunk, threads);
        const std::string what = std::to_string(items) + " items, min " + std::to_string(min_chunk) + ", threads " +
                                 std::to_string(threads);
        ASSERT_GE(plan.chunks, 1) << what;
        // The chunks cover the items, and the last one is not empty.
        EXPECT_GE(plan.chunks * plan.chunk_items, items) << what;
        EXPECT_LT((plan.chunks - 1) * plan.chunk_items, items) << what;
        if (threads == 1) {
          EXPECT_EQ(plan.chunks, 1) << what;
          continue;
        }
        EXPECT_GE(plan.chunk_items, std::min(min_chunk, items)) << what;
        EXPECT_LE(plan.chunks, threads * kChunksPerThread) << what;
        // The chunks are as small as allowed: one item less per chunk would be under the minimum or need
        // more than kChunksPerThread chunks per thread.
        const int64_t smaller = plan.chunk_items - 1;
        EXPECT_TRUE(smaller < min_chunk || (items + smaller - 1) / smaller > threads * kChunksPerThread) << what;
      }
    }
  }
  EXPECT_EQ(plan_split(0, 1, 4).chunks, 0);
}

TEST(WorkerPool, EveryItemRunsExactlyOnceInThePlannedChunks) {
  for (int64_t items : {1, 2, 7, 100, 1000, 12345}) {
    for (int64_t min_chunk : {1, 3, 64}) {
      for (int threads : {1, 2, 3, 4}) {
        const SplitPlan plan = plan_split(items, min_chunk, threads);
        std::vector<ChunkRecord> chunks = run_and_record(items, min_chunk, threads);
        const std::string what = std::to_string(items) + " items, min " + std::to_string(min_chunk) + ", threads " +
                                 std::to_string(threads);
        if (plan.chunks == 1) {
          ASSERT_EQ(chunks.size(), 1u) << what;
          EXPECT_EQ(chunks[0].begin, 0) << what;
          EXPECT_EQ(chunks[0].end, items) << what;
          EXPECT_EQ(chunks[0].thread, 0) << what;
          continue;
        }
        ASSERT_EQ(static_cast<int64_t>(chunks.size()), plan.chunks) << what;
        std::sort(chunks.begin(), chunks.end(), [](const ChunkRecord& a, const ChunkRecord& b) { return a.begin < b.begin; });
        for (int64_t c = 0; c < plan.chunks; ++c) {
          const ChunkRecord& chunk = chunks[static_cast<size_t>(c)];
          EXPECT_EQ(chunk.begin, c * plan.chunk_items) << what;
          EXPECT_EQ(chunk.end, std::min(items, (c + 1) * plan.chunk_items)) << what;
          EXPECT_GE(chunk.thread, 0) << what;
          EXPECT_LT(chunk.thread, threads) << what;
        }
      }
    }
  }
}

// Random weights of a format (bfloat16, int8 or int4 with zero points) packed for the kernels.
PackedWeight random_weight(std::mt19937& rng, WeightFormat format, int64_t n, int64_t k, int64_t group) {
  std::uniform_int_distribution<int> byte(0, 255), nibble(0, 15);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> scales(static_cast<size_t>(n * (group > 0 ? k / group : 0)));
  for (float& scale : scales) scale = std::abs(normal(rng)) * 0.05f + 1e-3f;
  const ScaleMatrix scale_matrix{scales.data(), ElementType::kFloat32, n, group > 0 ? k / group : 0};
  switch (format) {
    case WeightFormat::kBFloat16: {
      std::vector<uint16_t> values(static_cast<size_t>(n * k));
      for (uint16_t& value : values) value = float_to_bfloat16(normal(rng));
      return pack_bfloat16(values.data(), n, k, "w");
    }
    case WeightFormat::kInt8: {
      std::vector<int8_t> values(static_cast<size_t>(n * k));
      for (int8_t& value : values) value = static_cast<int8_t>(byte(rng) - 128);
      return pack_int8(values.data(), n, k, group, scale_matrix, "w");
    }
    case WeightFormat::kInt4: {
      std::vector<uint8_t> values(static_cast<size_t>(n * k / 2)), zeros(static_cast<size_t>(n * (k / group)));
      for (uint8_t& value : values) value = static_cast<uint8_t>(byte(rng));
      for (uint8_t& zero : zeros) zero = static_cast<uint8_t>(nibble(rng));
      return pack_int4(values.data(), n, k, group, scale_matrix, zeros.data(), n, k / group, "w");
    }
  }
  return {};
}

// Exact property: every output panel is computed by one thread with the same operations as on one
// thread, so a split product is bit-identical to the unsplit one, on every path this CPU runs.
TEST(WorkerPool, SplitProductsEqualTheOneThreadProductBitForBit) {
  std::mt19937 rng(21);
  std::uniform_int_distribution<int64_t> features(1, 700), groups(1, 6), rows(1, kMaxRows), thread_count(2, 4);
  for (Isa isa : supported_isas()) {
    for (WeightFormat format : {WeightFormat::kBFloat16, WeightFormat::kInt8, WeightFormat::kInt4}) {
      for (int trial = 0; trial < 4; ++trial) {
        const int64_t n = features(rng), group = format == WeightFormat::kBFloat16 ? 0 : 32, m = rows(rng);
        const int64_t k = format == WeightFormat::kBFloat16 ? features(rng) : 32 * groups(rng);
        const int threads = static_cast<int>(thread_count(rng));
        const PackedWeight weight = random_weight(rng, format, n, k, group);
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<uint16_t> x_bf16(static_cast<size_t>(m * k));
        std::vector<float> x_f32(static_cast<size_t>(m * k));
        for (size_t i = 0; i < x_f32.size(); ++i) {
          x_f32[i] = normal(rng);
          x_bf16[i] = float_to_bfloat16(x_f32[i]);
        }
        for (ElementType x_type : {ElementType::kFloat32, ElementType::kBFloat16}) {
          const Activations x{x_type == ElementType::kFloat32 ? static_cast<const void*>(x_f32.data()) : x_bf16.data(),
                              x_type, m, k};
          std::vector<float> alone(static_cast<size_t>(m * n)), split(static_cast<size_t>(m * n));
          matmul(weight, x, alone.data(), n, 0, weight.panels(), isa);
          split_work(weight.panels(), 1, threads, [&](int64_t begin, int64_t end, int) {
            matmul(weight, x, split.data(), n, begin, end, isa);
          });
          EXPECT_EQ(std::memcmp(alone.data(), split.data(), alone.size() * sizeof(float)), 0)
              << isa_name(isa) << " " << format_name(format) << " N=" << n << " K=" << k << " M=" << m
              << " threads " << threads << (x_type == ElementType::kFloat32 ? " x=f32" : " x=bf16");
        }
      }
    }
  }
}

// Thousands of splits back to back: each runs every item once, and no chunk of a split runs after that
// split returned (each split's chunks check a flag the caller clears on return).
TEST(WorkerPool, ManySplitsInARowNeverRunAChunkLate) {
  constexpr int kSplits = 20000;
  constexpr int64_t kItems = 64;
  std::vector<std::atomic<bool>> open(kSplits);
  std::atomic<int64_t> late_chunks{0}, items_run{0};
  for (int s = 0; s < kSplits; ++s) {
    open[static_cast<size_t>(s)].store(true);
    split_work(kItems, 1, 2, [&, s](int64_t begin, int64_t end, int) {
      if (!open[static_cast<size_t>(s)].load()) late_chunks.fetch_add(1);
      items_run.fetch_add(end - begin);
    });
    open[static_cast<size_t>(s)].store(false);
    ASSERT_EQ(items_run.load(), (s + 1) * kItems) << "split " << s;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // give a stray worker the chance to show itself
  EXPECT_EQ(late_chunks.load(), 0);
  EXPECT_EQ(items_run.load(), kSplits * kItems);
}

TEST(WorkerPool, OneThreadSplitsStayOnTheCallerAndStartNoThread) {
  const int workers_before = pool_workers(), threads_before = process_threads();
  const std::thread::id caller = std::this_thread::get_id();
  for (int64_t items : {1, 10, 100000}) {
    int calls = 0;
    split_work(items, 1, 1, [&](int64_t begin, int64_t end, int thread) {
      ++calls;
      EXPECT_EQ(begin, 0);
      EXPECT_EQ(end, items);
      EXPECT_EQ(thread, 0);
      EXPECT_EQ(std::this_thread::get_id(), caller);
    });
    EXPECT_EQ(calls, 1);
  }
  // Many threads but a single chunk: the same.
  int calls = 0;
  split_work(50, 64, 4, [&](int64_t, int64_t, int) {
    ++calls;
    EXPECT_EQ(std::this_thread::get_id(), caller);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(pool_workers(), workers_before);
  EXPECT_EQ(process_threads(), threads_before);
}

TEST(WorkerPool, FollowsTheThreadCount) {
  for (int threads : {2, 4, 3, 2, 1, 5}) {
    const int workers_before = pool_workers();
    const std::vector<ChunkRecord> chunks = run_and_record(4000, 1, threads);
    for (const ChunkRecord& chunk : chunks) EXPECT_LT(chunk.thread, threads);
    // A split over several threads leaves the pool at threads - 1 workers; a 1-thread one does not use it.
    EXPECT_EQ(pool_workers(), threads > 1 ? threads - 1 : workers_before) << threads << " threads";
  }
}

// While the caller is held inside its first chunk, the worker takes the others: the pool's workers do
// run chunks, and without waiting for the caller.
TEST(WorkerPool, WorkersTakeChunksWhileTheCallerIsBusy) {
  std::atomic<int> worker_chunks{0};
  std::atomic<bool> timed_out{false};
  split_work(8, 1, 2, [&](int64_t, int64_t, int thread) {
    if (thread != 0) {
      worker_chunks.fetch_add(1);
      return;
    }
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (worker_chunks.load() == 0 && !timed_out.load()) {
      if (std::chrono::steady_clock::now() > deadline) timed_out.store(true);
      std::this_thread::yield();
    }
  });
  EXPECT_FALSE(timed_out.load()) << "no worker took a chunk while the caller was held";
  EXPECT_GT(worker_chunks.load(), 0);
}

// A worker held inside its chunk (as when it is descheduled) does not hold up the rest: the caller runs
// every other chunk, then waits only for the held one. (The caller's first chunk waits until the worker
// has entered a chunk, so that the worker claims one at all.)
TEST(WorkerPool, AWorkerHeldInsideAChunkLeavesTheRestToTheCaller) {
  constexpr int64_t kItems = 8;  // 8 chunks of 1 item at 2 threads
  std::atomic<int64_t> finished{0};
  std::atomic<int> held{0}, caller_chunks{0};
  std::atomic<bool> timed_out{false};
  const auto wait_until = [&](const auto& condition) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!condition() && !timed_out.load()) {
      if (std::chrono::steady_clock::now() > deadline) timed_out.store(true);
      std::this_thread::yield();
    }
  };
  split_work(kItems, 1, 2, [&](int64_t, int64_t, int thread) {
    if (thread != 0) {
      if (held.fetch_add(1) == 0) wait_until([&] { return finished.load() == kItems - 1; });
    } else if (caller_chunks.fetch_add(1) == 0) {
      wait_until([&] { return held.load() > 0; });
    }
    finished.fetch_add(1);
  });
  ASSERT_FALSE(timed_out.load()) << "a held worker held up the chunks nobody had claimed";
  EXPECT_EQ(finished.load(), kItems);
  EXPECT_EQ(held.load(), 1);
  EXPECT_EQ(caller_chunks.load(), kItems - 1);
}

TEST(WorkerPool, AnExceptionInAChunkReachesTheCaller) {
  for (int threads : {1, 2, 3}) {
    for (int64_t throwing_item : {0, 37, 99}) {
      try {
        split_work(100, 1, threads, [&](int64_t begin, int64_t end, int) {
          if (begin <= throwing_item && throwing_item < end) throw std::runtime_error("item " + std::to_string(throwing_item));
        });
        ADD_FAILURE() << "no exception, threads " << threads;
      } catch (const std::runtime_error& error) {
        EXPECT_EQ(std::string(error.what()), "item " + std::to_string(throwing_item));
      }
      // The pool is intact afterwards.
      run_and_record(1000, 1, threads);
    }
  }
}

// A split started inside a chunk runs on that chunk's thread alone.
TEST(WorkerPool, ASplitInsideAChunkRunsOnItsThread) {
  std::atomic<int> nested_elsewhere{0}, nested_calls{0};
  split_work(64, 1, 2, [&](int64_t, int64_t, int) {
    const std::thread::id outer = std::this_thread::get_id();
    split_work(1000, 1, 2, [&](int64_t begin, int64_t end, int thread) {
      nested_calls.fetch_add(1);
      if (std::this_thread::get_id() != outer || thread != 0 || begin != 0 || end != 1000) nested_elsewhere.fetch_add(1);
    });
  });
  EXPECT_EQ(nested_calls.load(), plan_split(64, 1, 2).chunks);  // one nested split per outer chunk
  EXPECT_EQ(nested_elsewhere.load(), 0);
}

// Several threads splitting at once: each split still runs every item once (one of them holds the pool,
// the others run theirs alone).
TEST(WorkerPool, ConcurrentCallersEachRunEveryItemOnce) {
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([] {
      for (int s = 0; s < 500; ++s) run_and_record(200, 1, 2);
    });
  }
  for (std::thread& caller : callers) caller.join();
}

}  // namespace
}  // namespace stepwise::kernels
