// Graceful stop on Ctrl-C (SIGINT) and SIGTERM for long training runs: the handler only records the
// request; the training loop checks it between steps, saves its state and returns, so a stopped run
// resumes without losing finished steps. A second signal ends the process at once (exit 128+signal).
#pragma once

namespace stepwise::training {

// Installs the handlers for its lifetime and restores the previous ones on destruction. The outermost
// guard clears any earlier request when installed; a nested guard keeps it, so a runner that installs
// its own guard around training still sees a stop that ended the training loop.
class StopSignalGuard {
 public:
  StopSignalGuard();
  ~StopSignalGuard();
  StopSignalGuard(const StopSignalGuard&) = delete;
  StopSignalGuard& operator=(const StopSignalGuard&) = delete;

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

// True once SIGINT or SIGTERM arrived while a guard was installed.
bool stop_requested();
void clear_stop_request();
// Records a stop that arrived elsewhere: in rank processes this process launched and waited for.
void request_stop();

}  // namespace stepwise::training
