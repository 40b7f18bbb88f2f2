// Concurrent training of an experiment's models, one process each (see concurrent_training.h).
#include "experiments/runner/concurrent_training.h"

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <iostream>
#include <thread>
#include <vector>

#include "core/error.h"
#include "experiments/training/stop_signal.h"

namespace stepwise::runner {
namespace {

constexpr int kStoppedCode = 130;  // a training process stopped by SIGINT / SIGTERM (state saved)

// Set by SIGTERM while the training processes run: passed on to them once (a second signal would end a
// process before it saves its state, so nothing is sent twice).
volatile std::sig_atomic_t g_terminate = 0;
extern "C" void note_terminate(int) { g_terminate = 1; }

// While the training processes run: SIGINT is ignored here (Ctrl-C reaches them as the terminal's
// process group; each saves its state and exits 130) and SIGTERM is noted to be passed on.
class WaitingSignals {
 public:
  WaitingSignals() {
    g_terminate = 0;
    previous_int_ = std::signal(SIGINT, SIG_IGN);
    previous_term_ = std::signal(SIGTERM, note_terminate);
  }
  ~WaitingSignals() {
    std::signal(SIGINT, previous_int_ == SIG_ERR ? SIG_DFL : previous_int_);
    std::signal(SIGTERM, previous_term_ == SIG_ERR ? SIG_DFL : previous_term_);
  }
  WaitingSignals(const WaitingSignals&) = delete;
  WaitingSignals& operator=(const WaitingSignals&) = delete;

 private:
  void (*previous_int_)(int) = SIG_DFL;
  void (*previous_term_)(int) = SIG_DFL;
};

// Models worth a process of their own: a train: block, one process, not cached, and not waiting for
// another model that is still untrained.
std::vector<std::string> eligible_models(const ExperimentSpec& spec, const ModelProvider& provider,
                                         const std::set<std::string>& needed) {
  std::vector<std::string> names;
  for (const auto& [name, model] : spec.models) {
    if (!needed.count(name) || !model.train || model.train->world_size != 1 || provider.is_trained(name)) continue;
    if (model.train->init_from && !provider.is_trained(*model.train->init_from)) continue;
    names.push_back(name);
  }
  return names;
}

struct TrainingProcess {
  std::string model;
  pid_t pid = -1;
};

pid_t start_training_process(const ExperimentSpec& spec, const std::string& model, int threads) {
  std::vector<std::string> arguments{"/proc/self/exe", spec.file, "--train-model", model, "--threads",
                                     std::to_string(threads)};
  std::vector<char*> pointers;
  for (std::string& argument : arguments) pointers.push_back(argument.data());
  pointers.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  check(pid >= 0, "model ", model, ": cannot start its training process (", std::strerror(errno), ")");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives the runner
    if (::getppid() != parent) ::_exit(128 + SIGKILL);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::execv("/proc/self/exe", pointers.data());
    std::fprintf(stderr, "model %s: cannot run the training process (%s)\n", model.c_str(), std::strerror(errno));
    ::_exit(127);
  }
  return pid;
}

}  // namespace

void train_models_concurrently(const ExperimentSpec& spec, const ModelProvider& provider, int threads,
                               const std::set<std::string>& needed) {
  const std::vector<std::string> models = eligible_models(spec, provider, needed);
  if (spec.train_jobs <= 1 || models.size() < 2) return;
  const auto jobs = static_cast<int>(std::min<size_t>(static_cast<size_t>(spec.train_jobs), models.size()));
  const int threads_each = std::max(1, threads / jobs);
  std::cerr << "training " << models.size() << " models, " << jobs << " at a time (" << threads_each
            << (threads_each == 1 ? " thread" : " threads") << " each)\n";

  const WaitingSignals signals;
  std::vector<TrainingProcess> running;
  std::vector<std::string> failed, stopped;
  size_t next = 0;
  bool terminate_forwarded = false;
  while (next < models.size() || !running.empty()) {
    const bool stopping = g_terminate != 0 || training::stop_requested() || !stopped.empty();
    while (!stopping && next < models.size() && static_cast<int>(running.size()) < jobs) {
      std::cerr << "model " << models[next] << ": training in its own process\n";
      running.push_back({models[next], start_training_process(spec, models[next], threads_each)});
      ++next;
    }
    if (stopping) next = models.size();  // start nothing more
    if (g_terminate != 0 && !terminate_forwarded) {
      for (const TrainingProcess& process : running) ::kill(process.pid, SIGTERM);  // each saves its state
      terminate_forwarded = true;
    }
    if (running.empty()) break;
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid == 0 || (pid < 0 && errno == EINTR)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    check(pid > 0, "waiting for the training processes: ", std::strerror(errno));
    const auto found = std::find_if(running.begin(), running.end(), [&](const TrainingProcess& p) { return p.pid == pid; });
    if (found == running.end()) continue;
    const std::string model = found->model;
    running.erase(found);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
    if (WIFEXITED(status) && WEXITSTATUS(status) == kStoppedCode) {
      stopped.push_back(model);
    } else {
      failed.push_back(model + " (" +
                       (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                          : "signal " + std::to_string(WIFSIGNALED(status) ? WTERMSIG(status) : 0)) +
                       ")");
    }
  }
  if (!failed.empty()) {
    std::string list;
    for (const std::string& entry : failed) list += (list.empty() ? "" : ", ") + entry;
    fail("training failed for model ", list, "; its error is above, and the state saved last is kept in the model cache");
  }
  if (!stopped.empty() || g_terminate != 0 || training::stop_requested()) {
    training::request_stop();
    fail("training was stopped by a signal; the states saved last are in the model cache: run again to resume");
  }
}

void train_one_model(const ExperimentSpec& spec, ModelProvider& provider, const std::string& name) {
  const auto found = spec.models.find(name);
  check(found != spec.models.end() && found->second.train, "--train-model ", name,
        ": not a model with a train: block in ", spec.file);
  provider.get(name);
}

}  // namespace stepwise::runner
