// Signal flag for graceful stops.
#include "experiments/training/stop_signal.h"

#include <csignal>
#include <cstdlib>

namespace stepwise::training {
namespace {

// The one piece of mutable global state in the training code: a signal handler may only write a
// volatile sig_atomic_t, so the request to stop has to live here. Written by the handler (or by a
// launcher whose rank processes were stopped), read by the training loop between steps, reset by
// StopSignalGuard.
volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void handle_stop_signal(int signal_number) {
  if (g_stop_requested != 0) std::_Exit(128 + signal_number);  // a second Ctrl-C ends the process at once
  g_stop_requested = 1;
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  previous_int_ = std::signal(SIGINT, handle_stop_signal);
  previous_term_ = std::signal(SIGTERM, handle_stop_signal);
  // A guard nested inside another (a runner around the trainer) keeps a request that already arrived.
  if (previous_int_ != handle_stop_signal) g_stop_requested = 0;
}

StopSignalGuard::~StopSignalGuard() {
  std::signal(SIGINT, previous_int_ == SIG_ERR ? SIG_DFL : previous_int_);
  std::signal(SIGTERM, previous_term_ == SIG_ERR ? SIG_DFL : previous_term_);
}

bool stop_requested() { return g_stop_requested != 0; }

void clear_stop_request() { g_stop_requested = 0; }

void request_stop() { g_stop_requested = 1; }

}  // namespace stepwise::training
