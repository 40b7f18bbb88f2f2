// c10d Gloo process groups, rank variables, and local rank processes.
#include "experiments/training/distributed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <thread>

#include "core/error.h"

extern char** environ;

namespace stepwise::training {
namespace {

std::optional<int64_t> parse_non_negative(const std::string& text) {
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(text);
}

int64_t integer_variable(const std::map<std::string, std::string>& environment, const std::string& name) {
  const auto it = environment.find(name);
  check(it != environment.end(), "data-parallel training: ", name, " is not set");
  const std::optional<int64_t> value = parse_non_negative(it->second);
  check(value.has_value(), "data-parallel training: ", name, "=", it->second, " is not a non-negative integer");
  return *value;
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::string message_of(const std::exception& error) {
  if (const auto* torch_error = dynamic_cast<const c10::Error*>(&error)) return first_line(torch_error->what_without_backtrace());
  return first_line(error.what());
}

class GlooGroup final : public DataParallelGroup {
 public:
  GlooGroup(const RankEnvironment& where, int64_t timeout_s) : where_(where) {
    const std::chrono::milliseconds timeout(timeout_s * 1000);
    try {
      c10d::TCPStoreOptions store_options;
      store_options.port = static_cast<std::uint16_t>(where.master_port);
      store_options.isServer = where.rank == 0;
      store_options.numWorkers = static_cast<size_t>(where.world_size);
      store_options.waitWorkers = true;
      store_options.timeout = timeout;
      store_ = c10::make_intrusive<c10d::TCPStore>(where.master_addr, store_options);
      auto options = c10d::ProcessGroupGloo::Options::create(timeout);
      const bool loopback = where.master_addr == "127.0.0.1" || where.master_addr == "localhost";
      options->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                          : c10d::ProcessGroupGloo::createDefaultDevice());
      group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store_, static_cast<int>(where.rank),
                                                           static_cast<int>(where.world_size), options);
    } catch (const std::exception& error) {
      fail("data-parallel training, rank ", where.rank, " of ", where.world_size, " (", where.source,
           "): cannot join the group at ", where.master_addr, ":", where.master_port, " within ", timeout_s, " s (",
           message_of(error), ")");
    }
  }

  int64_t rank() const override { return where_.rank; }
  int64_t world_size() const override { return where_.world_size; }

  void all_reduce_sum(const std::vector<torch::Tensor>& tensors) override {
    collective(tensors, "gradient all-reduce", [&](std::vector<at::Tensor>& buffer) {
      group_->allreduce(buffer, c10d::AllreduceOptions{})->wait();
    });
  }

  void broadcast_from_rank0(const std::vector<torch::Tensor>& tensors) override {
    collective(tensors, "weight broadcast", [&](std::vector<at::Tensor>& buffer) {
      c10d::BroadcastOptions options;
      options.rootRank = 0;
      group_->broadcast(buffer, options)->wait();
    });
  }

 private:
  // One flat buffer per dtype, one collective each, then copied back into the tensors.
  void collective(const std::vector<torch::Tensor>& tensors, const std::string& what,
                  const std::function<void(std::vector<at::Tensor>&)>& operation) {
    std::map<c10::ScalarType, std::vector<torch::Tensor>> by_dtype;
    for (const torch::Tensor& tensor : tensors) by_dtype[tensor.scalar_type()].push_back(tensor);
    torch::NoGradGuard no_grad;
    for (auto& [dtype, group] : by_dtype) {
      std::vector<torch::Tensor> flat;
      for (const torch::Tensor& tensor : group) flat.push_back(tensor.reshape(-1));
      std::vector<at::Tensor> buffer{torch::cat(flat)};  // (sum of numels,)
      try {
        operation(buffer);
      } catch (const std::exception& error) {
        fail("data-parallel training, rank ", where_.rank, " of ", where_.world_size, ": the ", what,
             " failed (", message_of(error), "): another rank has died or stopped answering; the state saved last "
             "is kept: run the same command again to resume");
      }
      int64_t offset = 0;
      for (const torch::Tensor& tensor : group) {
        tensor.view(-1).copy_(buffer[0].slice(0, offset, offset + tensor.numel()));
        offset += tensor.numel();
      }
    }
  }

  RankEnvironment where_;
  c10::intrusive_ptr<c10d::TCPStore> store_;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group_;
};

// A TCP port free on the loopback interface now (the kernel's choice).
int64_t free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  check(fd >= 0, "--nproc: cannot open a socket to find a free port (", std::strerror(errno), ")");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0;
  ::close(fd);
  check(ok, "--nproc: cannot find a free port on 127.0.0.1 (", std::strerror(errno), ")");
  return ntohs(address.sin_port);
}

// Exit code of a rank that a SIGINT or SIGTERM stopped cleanly after a step (rank 0 saved first).
constexpr int kStoppedCode = 130;
constexpr int64_t kExitMargin_s = 30;  // beyond --dist-timeout, for ranks stopping after a signal to save and exit

std::vector<pid_t> rank_processes;  // for the SIGTERM handler: forwarded to every rank

void forward_termination(int signal_number) {
  for (const pid_t pid : rank_processes)
    if (pid > 0) ::kill(pid, signal_number);
}

// SIGINT ignored (the terminal delivers Ctrl-C to every rank) and SIGTERM passed on to the ranks while
// the launcher waits; the caller's handlers (a runner's stop flag) are back afterwards, however it ends.
class LauncherSignals {
 public:
  LauncherSignals() {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGINT, &ignore, &previous_int_);
    struct sigaction forward {};
    forward.sa_handler = forward_termination;
    ::sigaction(SIGTERM, &forward, &previous_term_);
  }
  ~LauncherSignals() {
    ::sigaction(SIGINT, &previous_int_, nullptr);
    ::sigaction(SIGTERM, &previous_term_, nullptr);
  }
  LauncherSignals(const LauncherSignals&) = delete;
  LauncherSignals& operator=(const LauncherSignals&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

// "exited with code 2" | "was killed by signal 9 (Killed)".
std::string exit_description(int status) {
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
  return "exited with code " + std::to_string(WEXITSTATUS(status));
}

}  // namespace

std::string first_slurm_host(const std::string& node_list) {
  size_t end = 0;
  int depth = 0;
  while (end < node_list.size() && !(node_list[end] == ',' && depth == 0)) {
    if (node_list[end] == '[') ++depth;
    if (node_list[end] == ']') --depth;
    ++end;
  }
  const std::string first = node_list.substr(0, end);
  const size_t open = first.find('[');
  if (open == std::string::npos) return first;
  const std::string range = first.substr(open + 1);
  const size_t stop = range.find_first_of(",-]");
  return first.substr(0, open) + range.substr(0, stop);
}

std::optional<RankEnvironment> rank_environment(const std::map<std::string, std::string>& environment) {
  RankEnvironment where;
  if (environment.count("RANK")) {
    where.source = "RANK, WORLD_SIZE";
    where.rank = integer_variable(environment, "RANK");
    where.world_size = integer_variable(environment, "WORLD_SIZE");
  } else if (environment.count("SLURM_NTASKS") && environment.count("SLURM_PROCID")) {
    where.source = "SLURM_PROCID, SLURM_NTASKS";
    where.world_size = integer_variable(environment, "SLURM_NTASKS");
    if (where.world_size <= 1) return std::nullopt;
    where.rank = integer_variable(environment, "SLURM_PROCID");
    const auto nodes = environment.find("SLURM_JOB_NODELIST");
    check(nodes != environment.end() && !nodes->second.empty(), "data-parallel training: SLURM_JOB_NODELIST is not set");
    where.master_addr = first_slurm_host(nodes->second);
  } else {
    return std::nullopt;
  }
  check(where.world_size >= 1 && where.world_size <= 4096, "data-parallel training: the world size must lie in 1..4096, got ",
        where.world_size, " (", where.source, ")");
  check(where.rank < where.world_size, "data-parallel training: rank ", where.rank, " is not below the world size ",
        where.world_size, " (", where.source, ")");
  if (const auto it = environment.find("MASTER_ADDR"); it != environment.end() && !it->second.empty())
    where.master_addr = it->second;
  if (environment.count("MASTER_PORT")) {
    where.master_port = integer_variable(environment, "MASTER_PORT");
    check(where.master_port >= 1 && where.master_port <= 65535, "data-parallel training: MASTER_PORT=",
          where.master_port, " is not a port (1..65535)");
  }
  return where;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> variables;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const size_t equals = text.find('=');
    if (equals != std::string::npos) variables[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return variables;
}

void check_backend(const std::string& backend) {
  if (backend == "gloo") return;
  check(backend == "nccl", "--backend: expected gloo or nccl, got '", backend, "'");
  fail("--backend nccl: this LibTorch is built for the CPU only: without CUDA and without c10d's NCCL backend "
       "(USE_C10D_NCCL), so ProcessGroupNCCL is not there to build a group with; use --backend gloo "
       "(docs/training.md, \"Data-parallel training\")");
}

std::shared_ptr<DataParallelGroup> connect_gloo_group(const RankEnvironment& where, int64_t timeout_s) {
  check(timeout_s >= 1, "data-parallel training: the timeout must be at least 1 s, got ", timeout_s);
  if (const char* failing = std::getenv(kFaultExitRankVariable); failing != nullptr && *failing != '\0' &&
      parse_non_negative(failing) == std::optional<int64_t>(where.rank))
    fail("data-parallel training, rank ", where.rank, " of ", where.world_size, ": ", kFaultExitRankVariable, "=",
         failing, " (fault injection for tests) makes this rank fail before the rendezvous");
  return std::make_shared<GlooGroup>(where, timeout_s);
}

int run_local_ranks(int64_t nproc, const std::vector<std::string>& argv, int64_t timeout_s) {
  check(nproc >= 1 && nproc <= 256, "--nproc must lie in 1..256, got ", nproc);
  const int64_t port = free_local_port();
  std::vector<std::string> arguments = argv;
  arguments[0] = "/proc/self/exe";
  std::vector<char*> pointers;
  for (std::string& argument : arguments) pointers.push_back(argument.data());
  pointers.push_back(nullptr);
  std::cerr << "data-parallel training: " << nproc << " ranks on this machine, rendezvous at 127.0.0.1:" << port << "\n";
  rank_processes.assign(static_cast<size_t>(nproc), -1);
  const LauncherSignals signals;
  const pid_t launcher = ::getpid();
  for (int64_t rank = 0; rank < nproc; ++rank) {
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int fork_error = errno;
      for (const pid_t started : rank_processes)
        if (started > 0) ::kill(started, SIGKILL);
      while (::waitpid(-1, nullptr, 0) > 0) {
      }
      fail("--nproc: cannot start rank ", rank, " (", std::strerror(fork_error), ")");
    }
    if (pid == 0) {
      // A rank never outlives its launcher (killed, it could not stop the ranks or release their work).
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != launcher) ::_exit(128 + SIGKILL);
      ::signal(SIGINT, SIG_DFL);
      ::signal(SIGTERM, SIG_DFL);
      ::setenv("RANK", std::to_string(rank).c_str(), 1);
      ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      ::setenv("MASTER_ADDR", "127.0.0.1", 1);
      ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      ::execv("/proc/self/exe", pointers.data());
      std::fprintf(stderr, "rank %lld: cannot run %s (%s)\n", static_cast<long long>(rank), argv[0].c_str(),
                   std::strerror(errno));
      ::_exit(127);
    }
    rank_processes[static_cast<size_t>(rank)] = pid;
  }
  int result = 0;
  int64_t running = nproc;
  bool killed_others = false;  // after a rank failed: the rest were killed at once
  bool stopping = false;  // a rank stopped on a signal: the others are given until stop_deadline
  std::chrono::steady_clock::time_point stop_deadline{};
  // The rank of a child pid that has ended (now no longer running), or -1 for another child.
  auto take_rank = [&](pid_t pid) -> int64_t {
    for (size_t rank = 0; rank < rank_processes.size(); ++rank) {
      if (rank_processes[rank] != pid) continue;
      rank_processes[rank] = -1;
      --running;
      return static_cast<int64_t>(rank);
    }
    return -1;
  };
  auto failed = [](int status) {
    return !(WIFEXITED(status) && (WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == kStoppedCode));
  };
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0 || (pid < 0 && errno == EINTR)) {
      if (stopping && std::chrono::steady_clock::now() > stop_deadline) {
        for (size_t rank = 0; rank < rank_processes.size(); ++rank) {
          if (rank_processes[rank] <= 0) continue;
          std::cerr << "data-parallel training: rank " << rank << " still running " << timeout_s + kExitMargin_s
                    << " s after another stopped; killing it\n";
          ::kill(rank_processes[rank], SIGKILL);
        }
        stopping = false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    check(pid > 0, "--nproc: waiting for the ranks failed (", std::strerror(errno), ")");
    const int64_t rank = take_rank(pid);
    if (rank < 0 || killed_others) continue;  // the ranks killed below are not reported as failures
    if (!failed(status)) {
      // 130: stopped by SIGINT / SIGTERM after a step. The others stop after the same step (rank 0
      // saves), so they are given the collective timeout for it rather than killed.
      if (WEXITSTATUS(status) == kStoppedCode) {
        if (result == 0) result = kStoppedCode;
        if (!stopping) stop_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s + kExitMargin_s);
        stopping = true;
      }
      continue;
    }
    // A rank failed (an error, a crash, a kill), perhaps before the rendezvous: the others would only end
    // at their next collective or at the timeout, so they are killed now; the state saved last (written
    // atomically) is kept. Ranks that had also ended by now are reported too: which of them failed first
    // cannot be told (a killed rank makes the others' collectives fail within moments).
    std::vector<std::pair<int64_t, int>> ended{{rank, status}};
    for (pid_t other = ::waitpid(-1, &status, WNOHANG); other > 0; other = ::waitpid(-1, &status, WNOHANG))
      if (const int64_t other_rank = take_rank(other); other_rank >= 0) ended.emplace_back(other_rank, status);
    for (const auto& [ended_rank, ended_status] : ended) {
      if (!failed(ended_status)) continue;
      std::cerr << "data-parallel training: rank " << ended_rank << " " << exit_description(ended_status) << "\n";
      if (result == 0 || result == kStoppedCode)
        result = WIFEXITED(ended_status) ? WEXITSTATUS(ended_status) : 128 + WTERMSIG(ended_status);
    }
    std::string still_running;
    for (size_t other = 0; other < rank_processes.size(); ++other) {
      if (rank_processes[other] <= 0) continue;
      still_running += (still_running.empty() ? "" : ", ") + std::to_string(other);
      ::kill(rank_processes[other], SIGKILL);
    }
    if (!still_running.empty())
      std::cerr << "data-parallel training: killing the ranks still running (" << still_running << ")\n";
    killed_others = true;
  }
  return result;
}

}  // namespace stepwise::training
