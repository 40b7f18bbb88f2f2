// Checkpoint loading is strict and its errors name the file and tensor; safetensors round-trips;
// saved models reload to the same logits; sharded and BF16 checkpoints load.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/tensor/safetensors.h"
#include "models/checkpoint.h"
#include "tests/support/expect_error.h"
#include "tests/support/fixture_utils.h"

namespace stepwise {
namespace {

namespace fs = std::filesystem;
using testing::copy_fixture;
using testing::fixture_model;
using testing::TempDir;

using testing::expect_error;

std::vector<std::pair<std::string, torch::Tensor>> tensors_of(const std::string& path) {
  SafetensorsFile file(path);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& name : file.names()) out.emplace_back(name, file.load(name));
  return out;
}

void rewrite_json(const std::string& path, const std::function<void(nlohmann::json&)>& edit) {
  std::ifstream in(path);
  nlohmann::json json = nlohmann::json::parse(in);
  in.close();
  edit(json);
  std::ofstream(path) << json.dump(2);
}

TEST(Safetensors, RoundTripKeepsDtypesShapesAndValues) {
  TempDir dir;
  std::vector<std::pair<std::string, torch::Tensor>> tensors{
      {"a", torch::randn({3, 5})},
      {"b", torch::randn({7}).to(torch::kBFloat16)},
      {"c", torch::randn({2, 2, 2}).to(torch::kFloat16)},
      {"d", torch::arange(6, torch::kInt64).view({2, 3})},
      {"e", torch::randn({4, 3}).t()},  // non-contiguous input
  };
  write_safetensors(dir.file("x.safetensors"), tensors, {{"format", "pt"}});
  SafetensorsFile file(dir.file("x.safetensors"));
  EXPECT_EQ(file.metadata().at("format"), "pt");
  for (const auto& [name, tensor] : tensors) {
    torch::Tensor loaded = file.load(name);
    EXPECT_EQ(loaded.scalar_type(), tensor.scalar_type()) << name;
    EXPECT_TRUE(loaded.equal(tensor.contiguous())) << name;
  }
  EXPECT_EQ(file.info("b").dtype, "BF16");
  EXPECT_TRUE(file.load("b", torch::kFloat32).equal(tensors[1].second.to(torch::kFloat32)));
}

TEST(Safetensors, TruncatedFileIsAnError) {
  TempDir dir;
  const std::string source = fixture_model("qwen2-tiny") + "/model.safetensors";
  const auto size = fs::file_size(source);
  std::ifstream in(source, std::ios::binary);
  std::vector<char> bytes(size);
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  // Cut in the middle of the data section: the last tensors end past the end of the file.
  std::ofstream(dir.file("cut.safetensors"), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(size - 100));
  expect_error([&] { SafetensorsFile file(dir.file("cut.safetensors")); }, {"cut.safetensors", "tensor '", "truncated"});
  // Fewer than 8 bytes.
  std::ofstream(dir.file("tiny.safetensors"), std::ios::binary).write(bytes.data(), 5);
  expect_error([&] { SafetensorsFile file(dir.file("tiny.safetensors")); }, {"tiny.safetensors", "truncated"});
}

TEST(Safetensors, HeaderPastEndOfFileIsAnError) {
  TempDir dir;
  std::ofstream out(dir.file("bad.safetensors"), std::ios::binary);
  const uint64_t header_size = 1 << 20;
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((header_size >> (8 * i)) & 0xff));
  out << "{}";
  out.close();
  expect_error([&] { SafetensorsFile file(dir.file("bad.safetensors")); }, {"bad.safetensors", "past the end"});
}

TEST(Safetensors, GarbageHeaderIsAnError) {
  TempDir dir;
  std::ofstream out(dir.file("garbage.safetensors"), std::ios::binary);
  const std::string text = "{not json";
  const uint64_t header_size = text.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>((header_size >> (8 * i)) & 0xff));
  out << text;
  out.close();
  expect_error([&] { SafetensorsFile file(dir.file("garbage.safetensors")); }, {"garbage.safetensors", "JSON"});
}

TEST(Checkpoint, MissingTensorIsNamed) {
  TempDir dir;
  copy_fixture("llama-tiny", dir.path() / "model");
  auto tensors = tensors_of((dir.path() / "model" / "model-00002-of-00003.safetensors").string());
  tensors.erase(std::remove_if(tensors.begin(), tensors.end(),
                               [](const auto& t) { return t.first == "model.layers.0.self_attn.k_proj.weight"; }),
                tensors.end());
  write_safetensors((dir.path() / "model" / "model-00002-of-00003.safetensors").string(), tensors);
  rewrite_json((dir.path() / "model" / "model.safetensors.index.json").string(),
               [](nlohmann::json& j) { j["weight_map"].erase("model.layers.0.self_attn.k_proj.weight"); });
  expect_error([&] { load_checkpoint((dir.path() / "model").string()); },
               {"missing tensor 'model.layers.0.self_attn.k_proj.weight'", "model"});
}

TEST(Checkpoint, UnexpectedTensorIsNamed) {
  TempDir dir;
  copy_fixture("qwen2-tiny", dir.path());
  auto tensors = tensors_of(dir.file("model.safetensors"));
  tensors.emplace_back("model.layers.0.mystery.weight", torch::zeros({3}));
  write_safetensors(dir.file("model.safetensors"), tensors);
  expect_error([&] { load_checkpoint(dir.path().string()); },
               {"model.safetensors", "unexpected tensor 'model.layers.0.mystery.weight'"});
}

TEST(Checkpoint, WrongShapeIsNamed) {
  TempDir dir;
  copy_fixture("qwen2-tiny", dir.path());
  auto tensors = tensors_of(dir.file("model.safetensors"));
  for (auto& [name, tensor] : tensors)
    if (name == "model.layers.1.mlp.up_proj.weight") tensor = torch::zeros({161, 64});
  write_safetensors(dir.file("model.safetensors"), tensors);
  expect_error([&] { load_checkpoint(dir.path().string()); },
               {"model.safetensors", "'model.layers.1.mlp.up_proj.weight'", "[161, 64]", "[160, 64]"});
}

TEST(Checkpoint, UnknownModelTypeIsNamed) {
  TempDir dir;
  copy_fixture("qwen2-tiny", dir.path());
  rewrite_json(dir.file("config.json"), [](nlohmann::json& j) { j["model_type"] = "mamba"; });
  expect_error([&] { load_checkpoint(dir.path().string()); }, {"config.json", "model_type 'mamba'"});
}

TEST(Checkpoint, MissingConfigKeyIsNamed) {
  TempDir dir;
  copy_fixture("qwen2-tiny", dir.path());
  rewrite_json(dir.file("config.json"), [](nlohmann::json& j) { j.erase("hidden_size"); });
  expect_error([&] { load_checkpoint(dir.path().string()); }, {"config.json", "'hidden_size'"});
}

TEST(Checkpoint, MissingShardIsNamed) {
  TempDir dir;
  copy_fixture("llama-tiny", dir.path());
  fs::remove(dir.path() / "model-00003-of-00003.safetensors");
  expect_error([&] { load_checkpoint(dir.path().string()); }, {"model-00003-of-00003.safetensors", "does not exist"});
}

TEST(Checkpoint, SaveAndReloadGiveTheSameLogits) {
  torch::NoGradGuard no_grad;
  TempDir dir;
  for (const std::string name : {"qwen2-tiny", "qwen3-tiny", "llama-tiny", "dream-tiny"}) {
    auto model = load_checkpoint(fixture_model(name));
    save_checkpoint(*model, (dir.path() / name).string());
    auto reloaded = load_checkpoint((dir.path() / name).string());
    EXPECT_EQ(reloaded->config().model_type, model->config().model_type);
    EXPECT_EQ(reloaded->config().bidirectional, model->config().bidirectional);
    EXPECT_EQ(reloaded->parameter_count(), model->parameter_count());
    torch::Tensor tokens = torch::arange(10, torch::kInt64).view({1, 10}) * 7;
    torch::Tensor positions = torch::arange(10, torch::kInt64).view({1, 10});
    EXPECT_TRUE(model->forward(tokens, positions).equal(reloaded->forward(tokens, positions))) << name;
  }
}

TEST(Checkpoint, RandomModelIsReproducible) {
  torch::NoGradGuard no_grad;
  TransformerConfig config = load_checkpoint(fixture_model("qwen2-tiny"))->config();
  auto a = random_transformer(config, 7);
  auto b = random_transformer(config, 7);
  auto c = random_transformer(config, 8);
  torch::Tensor tokens = torch::arange(6, torch::kInt64).view({1, 6});
  EXPECT_TRUE(a->forward(tokens, tokens).equal(b->forward(tokens, tokens)));
  EXPECT_FALSE(a->forward(tokens, tokens).equal(c->forward(tokens, tokens)));
}

}  // namespace
}  // namespace stepwise
