// Data-parallel training over LibTorch's c10d: which rank this process is (from torchrun's variables or
// Slurm's), the Gloo process group that carries the trainer's sums and broadcasts (data_parallel.h),
// and `--nproc N` on one machine: N copies of the current command, one per rank. Keeps the c10d and
// Gloo headers to its .cpp.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "experiments/training/data_parallel.h"

namespace stepwise::training {

inline constexpr int64_t kDefaultMasterPort = 29500;  // torchrun's

// Fault injection for tests: the rank named by this variable fails (exit 2, naming the variable) before
// the rendezvous, as a rank that cannot start would. Unset in normal use.
inline constexpr char kFaultExitRankVariable[] = "STEPWISE_FAULT_INJECT_EXIT_RANK";

struct RankEnvironment {
  int64_t rank = 0;
  int64_t world_size = 1;
  std::string master_addr = "127.0.0.1";  // where rank 0 serves the rendezvous store
  int64_t master_port = kDefaultMasterPort;
  std::string source;                     // "RANK, WORLD_SIZE" | "SLURM_PROCID, SLURM_NTASKS", for messages
};

// The rank of this process, or nullopt when it runs alone: RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT
// (torchrun's; MASTER_ADDR defaults to 127.0.0.1, MASTER_PORT to 29500) when RANK is set; else Slurm's
// SLURM_PROCID, SLURM_NTASKS and the first host of SLURM_JOB_NODELIST (MASTER_ADDR / MASTER_PORT still
// override) when SLURM_NTASKS is above 1. Errors name the variable and its bad value.
std::optional<RankEnvironment> rank_environment(const std::map<std::string, std::string>& environment);
// The process's environment as a map (for rank_environment).
std::map<std::string, std::string> process_environment();
// The first host of a Slurm node list: "node[03-05,9],gpu1" -> "node03", "a,b" -> "a".
std::string first_slurm_host(const std::string& node_list);

// The c10d backend named by `--backend`: "gloo" is accepted. "nccl" is refused, saying why: this
// LibTorch is CPU-only (no CUDA, and its c10d was built without USE_C10D_NCCL, so ProcessGroupNCCL.hpp
// declares nothing and no NCCL symbol is exported). Anything else is an error naming the choices.
void check_backend(const std::string& backend);

// Joins the group: rank 0 serves a TCPStore at master_addr:master_port, every rank connects to it and
// the ranks build a ProcessGroupGloo. Waits up to `timeout_s` for the others (also each later collective);
// a rank that dies makes the others' next collective fail with an error that says so. Fails at once on
// the rank kFaultExitRankVariable names.
std::shared_ptr<DataParallelGroup> connect_gloo_group(const RankEnvironment& where, int64_t timeout_s);

// `--nproc N` on this machine: runs `argv` (argv[0] is replaced by this executable) N times at once with
// RANK=0..N-1, WORLD_SIZE=N, MASTER_ADDR=127.0.0.1 and a free MASTER_PORT, waits for all of them and
// returns 0 when every rank succeeded, else the first failing rank's exit code (128 + signal when killed).
// A rank that fails (any non-zero exit or a signal, before or after the rendezvous) is named with its
// status and the others are killed at once. A rank that exits 130 (stopped by SIGINT / SIGTERM after a
// step) is no failure: the others stop after the same step, and are given `timeout_s` (plus 30 s) for it
// before they are killed. While waiting the launcher ignores SIGINT and passes SIGTERM on to the ranks;
// the caller's handlers are restored on return. A rank dies with its launcher (PR_SET_PDEATHSIG).
int run_local_ranks(int64_t nproc, const std::vector<std::string>& argv, int64_t timeout_s);

}  // namespace stepwise::training
