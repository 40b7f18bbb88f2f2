#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/ (committed; rerun after
changing it). Seeds are small valid inputs of every parser, built here or copied from tests/fixtures and
configs/, plus a few hand-made edge cases. The kv_entry seeds come from the target itself
(STEPWISE_FUZZ_WRITE_SEEDS=DIR replay_kv_entry ...), since they carry the store's own checksum."""
import json
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"


def target(name):
    path = CORPUS / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def write(path, data):
    path.write_bytes(data if isinstance(data, bytes) else data.encode())


# safetensors: an 8-byte little-endian header size, a JSON header, then the data section.
def safetensors(tensors, metadata=None, pad=True):
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, payload) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    text = json.dumps(header, separators=(",", ":"))
    if pad:
        text += " " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text.encode() + data


def floats(*values):
    return struct.pack(f"<{len(values)}f", *values)


st = target("safetensors")
write(st / "f32-two-tensors", safetensors({"a": ("F32", [2, 2], floats(1, 2, 3, 4)), "b": ("F32", [3], floats(5, 6, 7))},
                                          {"format": "pt"}))
write(st / "mixed-dtypes", safetensors({
    "bf16": ("BF16", [2], b"\x80\x3f\x00\x40"), "f16": ("F16", [1, 2], b"\x00\x3c\x00\x40"),
    "i64": ("I64", [1], struct.pack("<q", -5)), "u8": ("U8", [3], b"\x01\x02\x03"),
    "bool": ("BOOL", [2], b"\x00\x01"), "f64": ("F64", [1], struct.pack("<d", 2.5)),
    "i32": ("I32", [1], struct.pack("<i", 7)), "i16": ("I16", [1], struct.pack("<h", 3)),
    "i8": ("I8", [1], b"\xff")}))
write(st / "scalar-and-empty", safetensors({"scalar": ("F32", [], floats(1.5)), "empty": ("F32", [0, 4], b"")}))
write(st / "header-only", safetensors({}, {"note": "no tensors"}, pad=False))
write(st / "header-size-too-large", struct.pack("<Q", 1 << 40) + b"{}")
write(st / "offsets-past-end", struct.pack("<Q", 60) + b'{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}    ')

# Sharded index: the fuzz target's directory holds these two shards.
index = target("safetensors_index")
shard1, shard2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
write(index / "two-shards", json.dumps({"metadata": {"total_size": 48}, "weight_map": {
    "embed.weight": shard1, "norm.weight": shard1, "head.weight": shard2}}, indent=2))
write(index / "partial-map", json.dumps({"weight_map": {"head.weight": shard2}}))
write(index / "missing-shard", json.dumps({"weight_map": {"x": "model-00003-of-00003.safetensors"}}))
write(index / "wrong-shard", json.dumps({"weight_map": {"embed.weight": shard2}}))
shutil.copy(ROOT / "tests/fixtures/models/llama-tiny/model.safetensors.index.json", index / "llama-tiny")

config = target("transformer_config")
for model in sorted((ROOT / "tests/fixtures/models").iterdir()):
    shutil.copy(model / "config.json", config / model.name)
write(config / "llama-rope-scaling", json.dumps({
    "model_type": "llama", "vocab_size": 32, "hidden_size": 16, "intermediate_size": 32, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 1, "rope_theta": 500000.0, "rope_scaling": None,
    "attention_bias": True, "mlp_bias": True, "is_causal": False, "mask_token_id": 31, "eos_token_id": [1, 2],
    "pad_token_id": None, "torch_dtype": "bfloat16", "tie_word_embeddings": False}))

# A small byte-level BPE tokenizer.json: the GPT-2 byte alphabet, a few merges and added tokens.
def byte_alphabet():
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    mapping, extra = {}, 0
    for b in range(256):
        if b in printable:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def tokenizer(merges, added, pre_tokenizer, normalizer=None, model_extra=None, pair_merges=False):
    alphabet = byte_alphabet()
    vocab = {alphabet[b]: b for b in range(256)}
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
             "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
             "vocab": vocab, "merges": [[l, r] for l, r in merges] if pair_merges else [f"{l} {r}" for l, r in merges]}
    model.update(model_extra or {})
    added_tokens = [{"id": len(vocab) + i, "content": content, "single_word": False, "lstrip": False,
                     "rstrip": False, "normalized": not special, "special": special}
                    for i, (content, special) in enumerate(added)]
    return json.dumps({"version": "1.0", "truncation": None, "padding": None, "added_tokens": added_tokens,
                       "normalizer": normalizer, "pre_tokenizer": pre_tokenizer, "post_processor": None,
                       "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                                   "use_regex": False}, "model": model}, ensure_ascii=False, indent=1)


qwen_split = {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
              "behavior": "Isolated", "invert": False}
byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("l", "l"), ("ll", "o"), ("1", "2")]
tok = target("tokenizer_load")
write(tok / "qwen-style", tokenizer(merges, [("<|endoftext|>", True), ("<|im_end|>", True), ("<think>", False)],
                                    {"type": "Sequence", "pretokenizers": [qwen_split, byte_level]}, {"type": "NFC"}))
write(tok / "gpt2-style", tokenizer(merges, [], {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                                  "use_regex": True}, pair_merges=True))
write(tok / "digits-nfkc-unk", tokenizer(merges[:3], [("[UNK]", True)],
                                         {"type": "Sequence", "pretokenizers": [
                                             {"type": "Digits", "individual_digits": True},
                                             {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithNext",
                                              "invert": False}, byte_level]},
                                         {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "NFD"}]},
                                         {"ignore_merges": True}))
write(tok / "bad-merge", tokenizer([("x", "yz")], [], byte_level))

# Texts for encode / decode with the Qwen3 tokenizer (also read as little-endian 32-bit ids).
codec = target("tokenizer_codec")
cases = json.loads((ROOT / "tests/fixtures/tokenizer/qwen3-cases.json").read_text())["cases"]
for i, case in enumerate(cases):
    write(codec / f"case-{i:02d}", case["text"])
write(codec / "chat", "<|im_start|>user\nSolve 3,5,8,24<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n")
write(codec / "combining-not-nfc", "e\u0301 A\u030a \u1e9b\u0323")
write(codec / "invalid-utf8", b"ab\xc3(\xed\xa0\x80\xf4\x90\x80\x80\xff")
write(codec / "emoji-cjk", "\U0001F600 \u4f60\u597d\u4e16\u754c \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \t\r\n")
write(codec / "ids", struct.pack("<8I", 0, 1, 9707, 151643, 151668, 151669, 0xFFFFFFFF, 0x80000000))

# Task files: data records (Sudoku 4x4 and 9x9, Countdown) and predictions, in one file or separately.
tasks = target("task_records")
sudoku4 = {"input": "1000\n0002\n4003\n0000", "output": "1324\n3412\n4231\n2143"}
sudoku9 = {"input": "53..7....".replace(".", "0") + "0" * 72, "output": "534678912672195348198342567859761423426853791713924856961537284287419635345286179"}
countdown = {"input": "3,5,8,24", "output": "3*8=24,5-5=0"}
countdown2 = {"input": "10,2,7,54", "output": "10*7=70,70-2=68"}
lines = lambda records: "".join(json.dumps(r) + "\n" for r in records)
write(tasks / "sudoku", lines([sudoku4, sudoku9, {"input": "1234\n3412\n2143\n4321", "output": "1234\n3412\n2143\n4321", "id": 7}]))
write(tasks / "countdown", lines([countdown, countdown2, {"input": "1,1", "output": ""}]))
write(tasks / "predictions", lines([{"prediction": "1324\n3412\n4231\n2143"}, {"prediction": "3*8=24"},
                                    {"prediction": "10*7=70,70-2=68,-68+0=-68"}, {"prediction": ""}]))
write(tasks / "mixed", lines([dict(countdown, prediction="3*8=24")]) + "\n   \n" + lines([dict(sudoku4, prediction="x")]))
write(tasks / "overflow", lines([{"input": "9223372036854775807,2,9223372036854775807",
                                  "output": "9223372036854775807*2=18446744073709551614,9223372036854775807/1=9223372036854775807"}]))

# Run journals of run "fuzz-run" (the target's run id), written like run_journal.cpp does.
journal = target("run_journal")
def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
header = compact({"kind": "header", "format": "stepwise-run-journal", "version": 1, "run_id": "fuzz-run"}) + "\n"
def example(index, prediction, correct):
    return compact({"kind": "example", "example": {
        "index": index, "prompt": "3,5,8,24", "reference": "3*8=24", "prediction": prediction, "correct": correct,
        "forward_calls": 12, "generated_tokens": 6, "wall_s": 0.25, "first_token_s": 0.01, "ttft_s": 0.5,
        "commit_step": [0, 1, 1, 2]}}) + "\n"
write(journal / "header-only", header)
write(journal / "two-examples", header + example(0, "3*8=24", True) + example(1, "", False))
write(journal / "replaced-example", header + example(0, "x", False) + example(0, "3*8=24", True))
write(journal / "complete", header + example(0, "3*8=24", True) + compact({"kind": "complete", "examples": 1}) + "\n")
write(journal / "torn-last-line", header + example(0, "3*8=24", True) + example(1, "y", False)[:40])
write(journal / "torn-header", header[:20])
write(journal / "other-run", header.replace("fuzz-run", "other-run"))

spec = target("experiment_spec")
for config_file in sorted((ROOT / "configs").glob("*.yaml")):
    shutil.copy(config_file, spec / config_file.stem)

# gguf: magic, version, counts, typed metadata, tensor infos, then the data section at the alignment.
def gguf_string(text):
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf(metadata, tensors, version=3, alignment=32):
    """metadata: [(key, type id, packed value)]; tensors: [(name, dims, ggml type, payload)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata))
    for key, type_id, packed in metadata:
        out += gguf_string(key) + struct.pack("<I", type_id) + packed
    offset, data = 0, b""
    for name, dims, ggml_type, payload in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}q", *dims)
        out += struct.pack("<IQ", ggml_type, offset)
        data += payload + b"\0" * ((alignment - len(payload) % alignment) % alignment)
        offset = len(data)
    out += b"\0" * ((alignment - len(out) % alignment) % alignment)
    return out + data


def gguf_array(element_type, packed_elements, count):
    return struct.pack("<IQ", element_type, count) + packed_elements


gg = target("gguf")
half_one, half_half = struct.pack("<H", 0x3C00), struct.pack("<H", 0x3800)
tokens = [b"a", b"b", b"ab"]
write(gg / "every-metadata-type", gguf(
    [("general.architecture", 8, gguf_string("qwen3")), ("u8", 0, b"\x07"), ("i8", 1, b"\xff"),
     ("u16", 2, struct.pack("<H", 500)), ("i16", 3, struct.pack("<h", -5)), ("u32", 4, struct.pack("<I", 9)),
     ("i32", 5, struct.pack("<i", -9)), ("f32", 6, floats(0.5)), ("flag", 7, b"\x01"),
     ("u64", 10, struct.pack("<Q", 2**63)), ("i64", 11, struct.pack("<q", -3)), ("f64", 12, struct.pack("<d", 1e-6)),
     ("tokenizer.ggml.tokens", 9, gguf_array(8, b"".join(gguf_string(t.decode()) for t in tokens), 3)),
     ("tokenizer.ggml.token_type", 9, gguf_array(5, struct.pack("<3i", 1, 1, 1), 3)),
     ("scores", 9, gguf_array(6, floats(0.0, -1.0), 2))],
    [("w", [2, 2], 0, floats(1, 2, 3, 4))]))
write(gg / "v2-every-tensor-type", gguf(
    [("general.alignment", 4, struct.pack("<I", 64))],
    [("f32", [4], 0, floats(1, 2, 3, 4)), ("f16", [2], 1, half_one * 2), ("bf16", [2], 30, b"\x80\x3f" * 2),
     ("q8_0", [32], 8, half_half + bytes(range(32))), ("q4_0", [32], 2, half_one + bytes(range(16))),
     ("q4_1", [32], 3, half_one * 2 + bytes(range(16))), ("q5_0", [32], 6, half_one + b"\x55" * 4 + bytes(range(16))),
     ("q5_1", [32], 7, half_one * 2 + b"\xaa" * 4 + bytes(range(16))),
     ("q4_K", [256], 12, half_one * 2 + bytes(range(12)) + bytes(range(128))),
     ("q5_K", [256], 13, half_one * 2 + bytes(range(12)) + bytes(range(32)) + bytes(range(128))),
     ("q6_K", [256], 14, bytes(range(128)) + bytes(range(64)) + bytes(range(16)) + half_half)],
    version=2, alignment=64))
write(gg / "no-tensors", gguf([("general.name", 8, gguf_string("empty"))], []))
u32 = lambda v: struct.pack("<I", v)
write(gg / "qwen2-model-with-tokenizer", gguf(
    [("general.architecture", 8, gguf_string("qwen2")), ("qwen2.embedding_length", 4, u32(32)),
     ("qwen2.feed_forward_length", 4, u32(32)), ("qwen2.block_count", 4, u32(1)),
     ("qwen2.attention.head_count", 4, u32(2)), ("qwen2.context_length", 4, u32(64)),
     ("qwen2.rope.freq_base", 6, floats(10000.0)), ("qwen2.attention.layer_norm_rms_epsilon", 6, floats(1e-6)),
     ("tokenizer.ggml.model", 8, gguf_string("gpt2")), ("tokenizer.ggml.pre", 8, gguf_string("qwen2")),
     ("tokenizer.ggml.tokens", 9, gguf_array(8, b"".join(gguf_string(t) for t in ["a", "b", "ab", "<|x|>"]), 4)),
     ("tokenizer.ggml.token_type", 9, gguf_array(5, struct.pack("<4i", 1, 1, 1, 3), 4)),
     ("tokenizer.ggml.merges", 9, gguf_array(8, gguf_string("a b"), 1)),
     ("tokenizer.ggml.eos_token_id", 4, u32(3))],
    [("token_embd.weight", [32, 4], 0, floats(*([0.5] * 128))), ("output_norm.weight", [32], 0, floats(*([1.0] * 32)))]))
write(gg / "truncated-data", gguf([], [("w", [8], 0, floats(*range(8)))])[:-8])

# Chat templates: the model templates of the tests and the small templates of the Jinja-semantics cases.
chat = target("chat_template")
for path in sorted((ROOT / "tests" / "fixtures" / "chat_templates").glob("*.jinja")):
    write(chat / path.stem, path.read_bytes())
semantics = json.loads((ROOT / "tests" / "fixtures" / "chat_templates" / "jinja_semantics.json").read_text())
for case in semantics["cases"]:
    write(chat / ("semantics-" + case["name"]), case["template"])

# libFuzzer dictionaries: the string literals of each parser's sources (keys, type names, enum values),
# so mutations can insert whole keywords. Written to tests/fuzz/dict/<target>.dict.
import re

PARSER_SOURCES = {
    "safetensors": ["core/tensor/safetensors.cpp"],
    "safetensors_index": ["core/tensor/safetensors.cpp"],
    "transformer_config": ["models/transformer_config.cpp"],
    "tokenizer_load": ["core/tokenizer/bpe_tokenizer_load.cpp", "core/tokenizer/bpe_unicode.cpp"],
    "task_records": ["experiments/tasks/record_jsonl.cpp"],
    "experiment_spec": ["experiments/runner/experiment_spec.cpp", "experiments/runner/decoder_spec.cpp",
                        "experiments/runner/training_spec.cpp", "experiments/runner/yaml_reader.cpp",
                        "experiments/tasks/metric.cpp", "experiments/tasks/task_kind.cpp"],
    "run_journal": ["experiments/runner/run_journal.cpp", "experiments/runner/example_json.cpp"],
    "kv_entry": ["core/prefix_store/kv_disk_tier.cpp"],
    "gguf": ["core/gguf_file.cpp", "core/tokenizer/bpe_tokenizer_gguf.cpp", "models/gguf_layout.cpp"],
    "chat_template": ["core/tokenizer/chat_template_lexer.cpp", "core/tokenizer/chat_template_parser.cpp",
                      "core/tokenizer/chat_template_filters.cpp", "core/tokenizer/chat_template_operations.cpp",
                      "core/tokenizer/chat_template_eval.cpp"],
}
EXTRA_TOKENS = {
    "safetensors": ["F32", "BF16", "F16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL", "18446744073709551615",
                    "9223372036854775807", "-1", "1e308"],
    "safetensors_index": ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "embed.weight",
                          "norm.weight", "head.weight", "weight_map"],
    "task_records": ["input", "output", "prediction", "=", "+", "-", "*", "/", ",", "\\x0a", "9223372036854775807"],
    "run_journal": ["kind", "header", "example", "complete", "fuzz-run", "stepwise-run-journal"],
    "kv_entry": ["keys", "values", "format", "key", "checksum", "tokens", "0123456789abcdeffedcba9876543210"],
    "gguf": ["GGUF", "general.alignment", "general.architecture", "tokenizer.ggml.tokens", "tokenizer.ggml.merges"],
    "chat_template": ["{%", "%}", "{{", "}}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "{%+", "+%}", "endif", "endfor",
                      "endmacro", "endset", "elif", "else", "messages", "message", "loop", "namespace", "range",
                      "raise_exception", "add_generation_prompt", "role", "content", " is ", " not ", " in ",
                      " and ", " or ", " if ", "[::-1]", "|"],
}
literal = re.compile(r'"((?:[^"\\\n]|\\.){1,40})"')
dict_dir = ROOT / "tests" / "fuzz" / "dict"
dict_dir.mkdir(exist_ok=True)
for name, sources in PARSER_SOURCES.items():
    words = set(EXTRA_TOKENS.get(name, []))
    for source in sources:
        for text in literal.findall((ROOT / source).read_text()):
            if re.fullmatch(r"[A-Za-z0-9_.\-/]+", text):  # keys and names, not message fragments
                words.add(text)
    entries = []
    for word in sorted(words):
        entries.append(f'"{word}"')
        if name not in ("experiment_spec", "gguf", "chat_template"):
            entries.append(f'"\\"{word}\\""')  # as a JSON string
    (dict_dir / f"{name}.dict").write_text("# generated by tests/fuzz/make_seeds.py\n" + "\n".join(entries) + "\n")
