// The kernels' own thread split: a range of items (a product's panels) cut into chunks that the calling
// thread and a small process-wide pool of worker threads claim one at a time from an atomic counter.
// The caller works until no chunk is left unclaimed and then waits only for chunks other threads have
// already claimed, so a worker that is late (descheduled, asleep) never delays a split: the caller does
// its share. After a split a worker spins for a bounded time waiting for the next one, then sleeps until
// a caller posts work. No worker touches a split's memory once run_split has returned. Torch-free.
//
// The pool holds `threads - 1` workers for the `threads` of the latest split (recreated when the count
// changes); a process that never splits work over more than one thread starts no thread. One split runs
// on the pool at a time: a caller that finds it busy (another thread's split, or a split started from
// inside a chunk) runs every chunk itself. Each chunk runs exactly once, on exactly one thread.
#pragma once

#include <cstdint>

namespace stepwise::kernels {

// Chunks per thread the items are cut into (when the minimum chunk size allows that many): enough that
// a thread arriving late only leaves a small piece of the range to the others.
constexpr int64_t kChunksPerThread = 4;

// How run_split cuts `items` for `threads` threads: chunks of `chunk_items` (the last one shorter), at
// least `min_chunk_items` each (>= 1), about kChunksPerThread per thread.
struct SplitPlan {
  int64_t chunk_items = 0;
  int64_t chunks = 0;
};
SplitPlan plan_split(int64_t items, int64_t min_chunk_items, int threads);

// run_chunk(context, begin, end, thread) for the items [begin, end) of one chunk; `thread` is 0 on the
// calling thread and 1 .. threads - 1 on the pool's workers.
using ChunkFunction = void (*)(const void* context, int64_t begin, int64_t end, int thread);

// Runs run_chunk over every chunk of plan_split(items, min_chunk_items, threads) on the pool and returns
// when all have finished. When the plan has a single chunk (always for `threads` <= 1) or the pool is
// busy, it calls run_chunk(context, 0, items, 0) once on the calling thread instead. An exception thrown
// by a chunk is rethrown here once every claimed chunk has finished (the first one, if several threw;
// chunks not yet started when it was thrown are skipped).
void run_split(int64_t items, int64_t min_chunk_items, int threads, ChunkFunction run_chunk, const void* context);

// run_split over any callable body(begin, end, thread).
template <typename Body>
void split_work(int64_t items, int64_t min_chunk_items, int threads, const Body& body) {
  run_split(
      items, min_chunk_items, threads,
      [](const void* context, int64_t begin, int64_t end, int thread) {
        (*static_cast<const Body*>(context))(begin, end, thread);
      },
      &body);
}

// Worker threads the pool holds now (0 until a split first needs more than one thread).
int pool_workers();

}  // namespace stepwise::kernels
