// GGUF reader: valid files of both versions read back every metadata type and tensor info; each kind of
// broken file (built here byte by byte) is refused with a stepwise::Error naming the file and the key or
// tensor, before anything is sized by the broken field.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/gguf_file.h"
#include "tests/support/gguf_bytes.h"

namespace stepwise {
namespace {

using testing::GgufBytes;

class GgufFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/stepwise-gguf-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string write(const GgufBytes& b, const std::string& name = "model.gguf") {
    const std::string path = dir_ + "/" + name;
    b.write(path);
    return path;
  }
  // The error message of opening `b`, or "" when it opened.
  std::string open_error(const GgufBytes& b) {
    const std::string path = write(b);
    try {
      GgufFile file(path);
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path), std::string::npos) << "error does not name the file: " << message;
      return message;
    }
    return "";
  }
  std::string dir_;
};

// A small valid v3 file: every scalar type, two arrays, two tensors (f32 [3,2] and q8_0 [32]).
GgufBytes valid_file(uint32_t version = 3) {
  GgufBytes b;
  b.header(version, 2, 15);
  b.put_string("u8").put<uint32_t>(0).put<uint8_t>(200);
  b.put_string("i8").put<uint32_t>(1).put<int8_t>(-100);
  b.put_string("u16").put<uint32_t>(2).put<uint16_t>(60000);
  b.put_string("i16").put<uint32_t>(3).put<int16_t>(-30000);
  b.kv_u32("u32", 4000000000u);
  b.put_string("i32").put<uint32_t>(5).put<int32_t>(-2000000000);
  b.kv_f32("f32", 1.5f);
  b.kv_bool("flag", true);
  b.kv_string("general.architecture", "qwen3");
  b.put_string("u64").put<uint32_t>(10).put<uint64_t>(uint64_t{1} << 40);
  b.put_string("i64").put<uint32_t>(11).put<int64_t>(-(int64_t{1} << 40));
  b.put_string("f64").put<uint32_t>(12).put<double>(0.25);
  b.kv_string_array("names", {"a", "", "ccc"});
  b.kv_i32_array("ids", {7, -1, 3});
  b.put_string("floats").put<uint32_t>(9).put<uint32_t>(6).put<uint64_t>(2).put<float>(0.5f).put<float>(-2.0f);
  b.tensor("w", {2, 3}, 0, 0);
  b.tensor("q", {32}, 8, 32);  // 24 bytes of f32 padded to 32
  b.pad_to(32);
  const float w[6] = {1, 2, 3, 4, 5, 6};
  b.raw(w, sizeof(w)).zeros(8);
  b.zeros(34);  // one q8_0 block
  return b;
}

TEST_F(GgufFileTest, ReadsEveryMetadataTypeAndTensorInfo) {
  for (uint32_t version : {2u, 3u}) {
    GgufFile file(write(valid_file(version)));
    EXPECT_EQ(file.version(), version);
    EXPECT_EQ(file.alignment(), 32u);
    EXPECT_EQ(file.integer("u8"), 200);
    EXPECT_EQ(file.integer("i8"), -100);
    EXPECT_EQ(file.integer("u16"), 60000);
    EXPECT_EQ(file.integer("i16"), -30000);
    EXPECT_EQ(file.integer("u32"), 4000000000LL);
    EXPECT_EQ(file.integer("i32"), -2000000000LL);
    EXPECT_EQ(file.integer("u64"), int64_t{1} << 40);
    EXPECT_EQ(file.integer("i64"), -(int64_t{1} << 40));
    EXPECT_EQ(file.real("f32"), 1.5);
    EXPECT_EQ(file.real("f64"), 0.25);
    EXPECT_TRUE(file.boolean("flag"));
    EXPECT_EQ(file.string("general.architecture"), "qwen3");
    EXPECT_EQ(file.string_array("names"), (std::vector<std::string>{"a", "", "ccc"}));
    EXPECT_EQ(file.integer_array("ids"), (std::vector<int64_t>{7, -1, 3}));
    EXPECT_EQ(file.real_array("floats"), (std::vector<double>{0.5, -2.0}));
    EXPECT_EQ(file.keys().size(), 15u);
    EXPECT_EQ(file.keys().front(), "u8");
    ASSERT_EQ(file.tensors().size(), 2u);
    const GgufTensorInfo& w = file.tensor("w");
    EXPECT_EQ(w.dims, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(w.shape(), (std::vector<int64_t>{3, 2}));  // torch order
    EXPECT_EQ(w.bytes, 24u);
    const float* values = reinterpret_cast<const float*>(file.data(w));
    EXPECT_EQ(values[0], 1.0f);
    EXPECT_EQ(values[5], 6.0f);
    EXPECT_EQ(file.tensor("q").type, GgmlType::kQ8_0);
    EXPECT_EQ(file.tensor("q").bytes, 34u);
    EXPECT_EQ(file.data(file.tensor("q")) - file.data(w), 32);
    EXPECT_FALSE(file.optional_integer("absent").has_value());
  }
}

TEST_F(GgufFileTest, WrongMetadataTypesAreNamed) {
  GgufFile file(write(valid_file()));
  auto message = [&](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message([&] { file.integer("general.architecture"); }).find("key 'general.architecture' is string"),
            std::string::npos);
  EXPECT_NE(message([&] { file.string("u32"); }).find("key 'u32' is uint32, expected string"), std::string::npos);
  EXPECT_NE(message([&] { file.real("flag"); }).find("key 'flag' is bool"), std::string::npos);
  EXPECT_NE(message([&] { file.boolean("f32"); }).find("key 'f32' is float32"), std::string::npos);
  EXPECT_NE(message([&] { file.string_array("ids"); }).find("key 'ids' is array of int32"), std::string::npos);
  EXPECT_NE(message([&] { file.integer_array("names"); }).find("key 'names' is array of string"),
            std::string::npos);
  EXPECT_NE(message([&] { file.integer("missing"); }).find("missing metadata key 'missing'"), std::string::npos);
  EXPECT_NE(message([&] { file.tensor("nope"); }).find("no tensor 'nope'"), std::string::npos);
}

TEST_F(GgufFileTest, EveryTruncationOfTheHeaderOrDataIsAnError) {
  const GgufBytes whole = valid_file();
  for (size_t length = 0; length < whole.bytes.size(); ++length) {
    GgufBytes cut;
    cut.bytes.assign(whole.bytes.begin(), whole.bytes.begin() + static_cast<long>(length));
    EXPECT_NE(open_error(cut), "") << "a file cut to " << length << " bytes opened";
  }
}

TEST_F(GgufFileTest, BadMagicAndVersions) {
  GgufBytes b = valid_file();
  b.bytes[0] = 'X';
  EXPECT_NE(open_error(b).find("bad magic"), std::string::npos);
  for (uint32_t version : {0u, 1u, 4u}) {
    GgufBytes v = valid_file();
    std::memcpy(&v.bytes[4], &version, 4);
    EXPECT_NE(open_error(v).find("unsupported GGUF version " + std::to_string(version)), std::string::npos);
  }
}

TEST_F(GgufFileTest, AbsurdCountsAndLengthsAreRefusedBeforeAllocating) {
  GgufBytes tensors;
  tensors.header(3, uint64_t{1} << 60, 0);
  EXPECT_NE(open_error(tensors).find("tensor count 1152921504606846976"), std::string::npos);
  GgufBytes kvs;
  kvs.header(3, 0, uint64_t{1} << 60);
  EXPECT_NE(open_error(kvs).find("metadata count"), std::string::npos);
  GgufBytes long_key;
  long_key.header(3, 0, 1).put<uint64_t>(uint64_t{1} << 62).zeros(16);
  EXPECT_NE(open_error(long_key).find("string of 4611686018427387904 bytes"), std::string::npos);
  GgufBytes long_value;
  long_value.header(3, 0, 1).put_string("k").put<uint32_t>(8).put<uint64_t>(uint64_t{1} << 62).zeros(16);
  EXPECT_NE(open_error(long_value).find("value of key 'k'"), std::string::npos);
  GgufBytes long_array;
  long_array.header(3, 0, 1).put_string("k").put<uint32_t>(9).put<uint32_t>(4).put<uint64_t>(uint64_t{1} << 60);
  long_array.zeros(64);
  EXPECT_NE(open_error(long_array).find("key 'k': array of 1152921504606846976 uint32 elements"),
            std::string::npos);
  GgufBytes huge_tensor;
  huge_tensor.header(3, 1, 0).tensor("t", {int64_t{1} << 40, int64_t{1} << 40}, 0, 0).pad_to(32).zeros(32);
  EXPECT_NE(open_error(huge_tensor).find("tensor 't': element count overflows"), std::string::npos);
  GgufBytes big_tensor;
  big_tensor.header(3, 1, 0).tensor("t", {int64_t{1} << 30, 4}, 0, 0).pad_to(32).zeros(32);
  EXPECT_NE(open_error(big_tensor).find("tensor 't': bytes [0, 17179869184)"), std::string::npos);
}

TEST_F(GgufFileTest, BadTensorInfos) {
  auto one_tensor = [](const std::string& name, std::vector<int64_t> dims, uint32_t type, uint64_t offset) {
    GgufBytes b;
    b.header(3, 1, 0).tensor(name, dims, type, offset).pad_to(32).zeros(256);
    return b;
  };
  EXPECT_NE(open_error(one_tensor("t", {4}, 99, 0)).find("tensor 't' has unknown ggml type 99"), std::string::npos);
  EXPECT_NE(open_error(one_tensor("t", {256}, 10, 0)).find("tensor 't' has ggml type q2_K (10), which stepwise"),
            std::string::npos);
  EXPECT_NE(open_error(one_tensor("t", {33}, 8, 0)).find("rows of 33 elements are not a multiple of the q8_0 block"),
            std::string::npos);
  EXPECT_NE(open_error(one_tensor("t", {4}, 0, 8)).find("tensor 't': offset 8 is not a multiple of the alignment"),
            std::string::npos);
  EXPECT_NE(open_error(one_tensor("t", {4}, 0, 256)).find("tensor 't': bytes [256, 272)"), std::string::npos);
  EXPECT_NE(open_error(one_tensor("t", {-1}, 0, 0)).find("dimension 0 is negative"), std::string::npos);
  EXPECT_NE(open_error(one_tensor("t", {1, 1, 1, 1, 1}, 0, 0)).find("has 5 dimensions"), std::string::npos);
  EXPECT_NE(open_error(one_tensor("", {4}, 0, 0)).find("tensor 0 has an empty name"), std::string::npos);

  GgufBytes duplicate;
  duplicate.header(3, 2, 0).tensor("t", {4}, 0, 0).tensor("t", {4}, 0, 32).pad_to(32).zeros(64);
  EXPECT_NE(open_error(duplicate).find("duplicate tensor name 't'"), std::string::npos);
  GgufBytes overlap;
  overlap.header(3, 2, 0).tensor("a", {16}, 0, 0).tensor("b", {4}, 0, 32).pad_to(32).zeros(64);
  EXPECT_NE(open_error(overlap).find("tensor 'b' at offset 32 overlaps tensor 'a' (which ends at 64)"),
            std::string::npos);
}

TEST_F(GgufFileTest, BadMetadata) {
  GgufBytes duplicate;
  duplicate.header(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2);
  EXPECT_NE(open_error(duplicate).find("duplicate metadata key 'k'"), std::string::npos);
  GgufBytes unknown;
  unknown.header(3, 0, 1).put_string("k").put<uint32_t>(13).zeros(16);
  EXPECT_NE(open_error(unknown).find("key 'k' has unknown value type 13"), std::string::npos);
  GgufBytes nested;
  nested.header(3, 0, 1).put_string("k").put<uint32_t>(9).put<uint32_t>(9).put<uint64_t>(1).zeros(16);
  EXPECT_NE(open_error(nested).find("key 'k' is an array of arrays"), std::string::npos);
  GgufBytes alignment_type;
  alignment_type.header(3, 0, 1).kv_string("general.alignment", "32");
  EXPECT_NE(open_error(alignment_type).find("key 'general.alignment' is string, expected uint32"), std::string::npos);
  GgufBytes alignment_value;
  alignment_value.header(3, 0, 1).kv_u32("general.alignment", 24);
  EXPECT_NE(open_error(alignment_value).find("'general.alignment' = 24 is not a power of two"), std::string::npos);
}

TEST_F(GgufFileTest, CustomAlignmentPlacesTheDataSection) {
  GgufBytes b;
  b.header(3, 2, 1).kv_u32("general.alignment", 64).tensor("a", {4}, 0, 0).tensor("b", {2}, 0, 64).pad_to(64);
  const float a[4] = {1, 2, 3, 4}, c[2] = {7, 8};
  b.raw(a, sizeof(a)).zeros(48).raw(c, sizeof(c));
  GgufFile file(write(b));
  EXPECT_EQ(file.alignment(), 64u);
  EXPECT_EQ(reinterpret_cast<const float*>(file.data(file.tensor("b")))[1], 8.0f);
  EXPECT_EQ(file.data(file.tensor("b")) - file.data(file.tensor("a")), 64);
}

TEST_F(GgufFileTest, DirectoriesAndMissingFilesAreRefusedByType) {
  EXPECT_THROW(GgufFile{dir_}, Error);
  EXPECT_THROW(GgufFile{dir_ + "/absent.gguf"}, Error);
}

TEST(GgmlTypeNames, RoundTrip) {
  EXPECT_EQ(ggml_type_from_name("Q8_0"), GgmlType::kQ8_0);
  EXPECT_EQ(ggml_type_from_name("q4_k"), GgmlType::kQ4_K);
  EXPECT_EQ(ggml_type_from_name("bf16"), GgmlType::kBF16);
  EXPECT_FALSE(ggml_type_from_name("q2_k").has_value());
}

}  // namespace
}  // namespace stepwise
