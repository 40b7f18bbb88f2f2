// Loading and training the experiment's models.
#include "experiments/runner/model_provider.h"

#include <fcntl.h>
#include <sys/file.h>
#include <torch/torch.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

#include "core/atomic_file.h"
#include "core/tokenizer/bpe_tokenizer.h"
#include "core/tokenizer/bpe_tokenizer_gguf.h"
#include "core/gguf_file.h"
#include "core/error.h"
#include "core/tensor/runtime.h"
#include "experiments/runner/quantized_model.h"
#include "experiments/runner/rank_training.h"
#include "experiments/runner/task_training.h"
#include "models/checkpoint.h"
#include "experiments/training/stop_signal.h"

namespace stepwise::runner {
namespace fs = std::filesystem;

namespace {

constexpr char kFinishedMarker[] = "finished.txt";
constexpr char kLockFile[] = "training.lock";

// An exclusive flock on DIR/training.lock, held while a model is trained into its cache directory, so
// two experiments sharing a cache_dir never train the same model at once: the second waits (saying for
// whom: the holder writes its host and pid into the file) and then finds the model finished. The kernel
// drops the lock when the holder exits, however it exits.
class TrainingLock {
 public:
  TrainingLock(const std::string& directory, const std::string& model_name) {
    std::error_code error;
    fs::create_directories(directory, error);
    const std::string path = (fs::path(directory) / kLockFile).string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    check(fd_ >= 0, path, ": cannot open the model cache lock (", std::strerror(errno), ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      const int lock_error = errno;
      check(lock_error == EWOULDBLOCK, path, ": cannot lock (", std::strerror(lock_error), ")");
      std::cerr << "model " << model_name << ": waiting for " << path << " (" << holder() << "), which is training it\n";
      // Polled rather than blocking, so Ctrl-C still stops a waiting experiment.
      while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        if (training::stop_requested()) {
          ::close(fd_);
          fail("model ", model_name, ": stopped while waiting for ", path);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
    }
    char host[256] = "?";
    ::gethostname(host, sizeof host - 1);
    const std::string text = "host " + std::string(host) + " pid " + std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) < 0) { /* only informative */ }
  }
  ~TrainingLock() { ::close(fd_); }
  TrainingLock(const TrainingLock&) = delete;
  TrainingLock& operator=(const TrainingLock&) = delete;

 private:
  // "host H pid P" as the holder wrote it (it writes right after locking: give it a moment).
  std::string holder() const {
    for (int attempt = 0; attempt < 50; ++attempt) {
      char buffer[300] = {};
      const ssize_t got = ::pread(fd_, buffer, sizeof buffer - 1, 0);
      std::string text(buffer, got > 0 ? static_cast<size_t>(got) : 0);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\0')) text.pop_back();
      if (!text.empty()) return text;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return "holder unknown";
  }

  int fd_ = -1;
};

}  // namespace

ModelProvider::ModelProvider(const ExperimentSpec& spec, const TaskData& data) : spec_(spec), data_(data) {}

std::string ModelProvider::cache_directory(const std::string& name) const {
  const ModelSpec& model = spec_.models.at(name);
  TORCH_INTERNAL_ASSERT(model.train.has_value());
  std::string identity = model.train->canonical_text() + "|task=" + spec_.task.label();
  if (model.train->init_from) identity += "|from=" + cache_directory(*model.train->init_from);
  return (fs::path(spec_.cache_dir) / (name + "-" + stable_hash(identity).substr(0, 12))).string();
}

std::string ModelProvider::quantized_directory(const std::string& name) const {
  const ModelSpec& model = spec_.models.at(name);
  TORCH_INTERNAL_ASSERT(model.quantize.has_value());
  const std::string& base = model.from ? *model.from : name;
  const ModelSpec& weights = spec_.models.at(base);
  std::string identity = (weights.path ? "path=" + *weights.path : "trained=" + cache_directory(base)) +
                         "|quantize=" + model.quantize->canonical_text();
  // The calibration problems come from the task, so AutoRound's result depends on it too.
  if (model.quantize->method == "autoround") identity += "|task=" + spec_.task.label();
  return (fs::path(spec_.cache_dir) / (name + "-q-" + stable_hash(identity).substr(0, 12))).string();
}

bool ModelProvider::is_trained(const std::string& name) const {
  return fs::exists(fs::path(cache_directory(name)) / kFinishedMarker);
}

std::string ModelProvider::plan(const std::string& name) const {
  const ModelSpec& model = spec_.models.at(name);
  std::string weights;
  if (model.from) {
    weights = "the weights of " + *model.from;
  } else if (model.path) {
    weights = "load " + *model.path;
  } else {
    const std::string directory = cache_directory(name);
    if (is_trained(name)) {
      weights = "reuse trained " + directory;
    } else {
      const bool partial = fs::exists(fs::path(directory) / "training_state.safetensors");
      const int64_t ranks = model.train->world_size;
      weights = std::string(partial ? "resume training" : "train") + " (" + model.train->objective + ", " +
                std::to_string(model.train->total_steps()) + " steps" +
                (ranks > 1 ? ", " + std::to_string(ranks) + " data-parallel ranks" : std::string()) + ") into " +
                directory;
    }
  }
  if (!model.quantize) return weights;
  const std::string directory = quantized_directory(name);
  const bool done = fs::exists(fs::path(directory) / kFinishedMarker);
  return weights + ", then " + (done ? "reuse quantized " : "quantize (" + model.quantize->label() + ") into ") +
         directory;
}

std::string ModelProvider::weights_directory(const std::string& name) {
  const ModelSpec& model = spec_.models.at(name);
  if (model.from) return weights_directory(*model.from);
  if (model.path) return *model.path;
  const std::string directory = cache_directory(name);
  if (!is_trained(name)) {
    std::shared_ptr<const Transformer> start;
    if (model.train->init_from) start = get(*model.train->init_from);
    const TrainingLock lock(directory, name);  // waits while another process trains this model
    if (is_trained(name)) {
      std::cerr << "model " << name << ": reusing " << directory << " (trained by the process waited for)\n";
    } else {
      std::cerr << "model " << name << ": " << plan(name) << "\n";
      // world_size > 1: rank processes train it while this process holds the lock, rank 0 writing here.
      const TrainedModel trained = model.train->world_size > 1
                                       ? train_with_ranks(spec_, name, directory)
                                       : train_for_task(*model.train, spec_.task, data_, directory, start);
      check(trained.completed, "model ", name, ": training stopped at step ", trained.steps_done, " of ",
            model.train->total_steps(), "; its state is saved in ", directory, ": run again to resume");
      write_file_atomically((fs::path(directory) / kFinishedMarker).string(),
                            "steps " + std::to_string(trained.steps_done) + "\ntrain_s " +
                                std::to_string(trained.train_s) + "\n");
    }
  } else {
    std::cerr << "model " << name << ": reusing " << directory << "\n";
  }
  return directory;
}

std::shared_ptr<const Transformer> ModelProvider::get(const std::string& name) {
  if (auto it = loaded_.find(name); it != loaded_.end()) return it->second;
  const ModelSpec& model = spec_.models.at(name);
  const LoadOptions load_options{parse_dtype(spec_.dtype), parse_device(spec_.device)};
  const std::string weights = weights_directory(name);
  std::string directory = weights;
  if (model.quantize) {
    directory = quantized_directory(name);
    if (!fs::exists(fs::path(directory) / kFinishedMarker)) {
      const TrainingLock lock(directory, name);  // one process quantizes; others wait and reuse
      if (!fs::exists(fs::path(directory) / kFinishedMarker)) {
        std::cerr << "model " << name << ": quantizing " << weights << " (" << model.quantize->label() << ") into "
                  << directory << "\n";
        const auto start = std::chrono::steady_clock::now();
        const auto base = load_checkpoint(weights, LoadOptions{torch::kFloat32, torch::kCPU});
        quantize_for_task(*model.quantize, spec_.task, *base, *tokenizer(name), directory);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        write_file_atomically((fs::path(directory) / kFinishedMarker).string(),
                              "quantize " + model.quantize->canonical_text() + "\nquantize_s " +
                                  std::to_string(seconds) + "\n");
      }
    } else {
      std::cerr << "model " << name << ": reusing quantized " << directory << "\n";
    }
  }
  if (directory == weights) std::cerr << "model " << name << ": loading " << directory << "\n";
  std::shared_ptr<const Transformer> result = load_checkpoint(directory, load_options);
  loaded_[name] = result;
  return result;
}

std::unique_ptr<Tokenizer> ModelProvider::tokenizer(const std::string& name) const {
  const ModelSpec& model = spec_.models.at(name);
  std::string choice = model.tokenizer;
  if (model.from && choice == "auto") return tokenizer(*model.from);  // the weights' own tokenizer
  if (choice == "auto") {
    if (model.train) return std::make_unique<CharTokenizer>();
    if (is_gguf_path(*model.path)) {
      const GgufFile file(*model.path);
      if (gguf_has_tokenizer(file)) return std::make_unique<BpeTokenizer>(bpe_tokenizer_from_gguf(file));
      return std::make_unique<CharTokenizer>();
    }
    const fs::path candidate = fs::path(*model.path) / "tokenizer.json";
    if (fs::exists(candidate)) return std::make_unique<BpeTokenizer>(BpeTokenizer::from_file(candidate.string()));
    return std::make_unique<CharTokenizer>();
  }
  if (choice == "char") return std::make_unique<CharTokenizer>();
  return std::make_unique<BpeTokenizer>(load_bpe_tokenizer(choice));
}

}  // namespace stepwise::runner
