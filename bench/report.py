#!/usr/bin/python3
"""Turn bench_decode, bench_kernels and bench_prefix_store JSON output (--benchmark_format=json or --benchmark_out) into markdown ratio tables.

usage: bench/report.py RESULT.json [MORE.json ...] > tables.md

Several files may be given (for example separate --benchmark_filter runs, or a rerun of an outlier):
a benchmark that appears again in a later file replaces the earlier result. With --benchmark_repetitions
the median over repetitions is used, except for the "best_" counters, which keep the best repetition.
Standard library only.
"""

import json
import re
import statistics
import sys


def load(paths):
    """run name -> {counter: value} (plus real_time in seconds)."""
    runs = {}
    for path in paths:
        with open(path) as handle:
            data = json.load(handle)
        grouped = {}
        for entry in data.get("benchmarks", []):
            if entry.get("run_type", "iteration") != "iteration" or entry.get("error_occurred"):
                continue
            name = re.sub(r"/(min_time:[^/]+|iterations:\d+|real_time|repeats:\d+)", "", entry["run_name"])
            grouped.setdefault(name, []).append(entry)
        for name, entries in grouped.items():
            merged = {}
            for key in entries[0]:
                values = [e[key] for e in entries if isinstance(e.get(key), (int, float))]
                if not values or isinstance(entries[0][key], bool):
                    continue
                if key.startswith("best_ms"):
                    merged[key] = min(values)
                elif key.startswith("best_"):
                    merged[key] = max(values)
                else:
                    merged[key] = statistics.median(values)
            runs[name] = merged
    return runs


def giga(value):
    return f"{value / 1e9:.2f}"


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def copy_section(runs):
    rows = []
    for name in sorted(n for n in runs if n.startswith("copy_bandwidth/")):
        r = runs[name]
        rows.append([name.split("/", 1)[1], int(r.get("threads", 0)), giga(r["bytes_per_s"]),
                     giga(r.get("best_bytes_per_s", r["bytes_per_s"]))])
    if not rows:
        return ""
    return "### Copy bandwidth (read + write bytes, 512 MiB buffer)\n\n" + table(
        ["copy", "threads", "mean GB/s", "best GB/s"], rows)


def decode_section(runs):
    rows = []
    pattern = re.compile(r"decode_step/(\w+)/batch:(\d+)/context:(\d+)(/linear:torch|/split:openmp)?$")
    variants = {"/linear:torch": " (torch linear)", "/split:openmp": " (OpenMP split)"}
    keys = []
    for name in runs:
        match = pattern.match(name)
        if match:
            dtype = match.group(1) + variants.get(match.group(4), "")
            keys.append((dtype, int(match.group(2)), int(match.group(3)), name))
    for dtype, batch, context, name in sorted(keys):
        r = runs[name]
        rows.append([dtype, batch, context, f"{r['ms_per_step']:.1f}", f"{r['tokens_per_s']:.2f}",
                     f"{r['best_tokens_per_s']:.2f}", f"{r['bytes_per_step'] / 1e6:.0f}", giga(r["bytes_per_s"]),
                     f"{r['copy_ratio']:.2f}", f"{r['best_copy_ratio']:.2f}"])
    if not rows:
        return ""
    copy = next((runs[n]["copy_bytes_per_s"] for n in runs if n.startswith("decode_step/")), None)
    note = (f"\nBandwidth = (weights + KV read per step) / step time; ratio = that / copy bandwidth "
            f"({giga(copy)} GB/s, median single torch copy of 512 MiB measured in the same process).\n" if copy else "")
    return "### Decode step (AR, Qwen2.5-0.5B shape)\n\n" + table(
        ["dtype", "batch", "context", "ms/step", "tokens/s", "best tokens/s", "MB read/step", "GB/s",
         "copy ratio", "best copy ratio"], rows) + "\n" + note


def kernel_section(runs):
    probe = runs.get("read_bandwidth/stream_sum")
    pattern = re.compile(r"kernel/(\w+)/(\w+)/rows:(\d+)$")
    keys = []
    for name in runs:
        match = pattern.match(name)
        if match:
            keys.append((match.group(1), match.group(2), int(match.group(3)), name))
    rows = []
    for fmt, shape, m, name in sorted(keys):
        r = runs[name]
        rows.append([fmt, shape, m, f"{r['us_per_product']:.0f}", f"{r['weight_bytes'] / 1e6:.1f}", giga(r["bytes_per_s"]),
                     giga(r["best_bytes_per_s"]), f"{r['read_ratio']:.2f}" if "read_ratio" in r else "-"])
    if not rows and not probe:
        return ""
    text = "### Kernels (core/kernels, one product, bfloat16 x)\n\n"
    if probe:
        text += (f"Read bandwidth (streaming sum over 1 GiB, {int(probe.get('threads', 0))} threads): median "
                 f"{giga(probe['bytes_per_s'])} GB/s, best {giga(probe['best_bytes_per_s'])} GB/s.\n\n")
    if rows:
        text += table(["format", "shape", "rows", "µs", "MB", "GB/s", "best GB/s", "read ratio"], rows)
    return text


def kv_section(runs):
    pattern = re.compile(r"kv_cache/(cache|recompute)/tokens:(\d+)$")
    by_length = {}
    for name, r in runs.items():
        match = pattern.match(name)
        if match:
            by_length.setdefault(int(match.group(2)), {})[match.group(1)] = r
    rows = []
    for length in sorted(by_length):
        pair = by_length[length]
        cache, recompute = pair.get("cache"), pair.get("recompute")
        both = cache is not None and recompute is not None
        ratio = f"{recompute['wall_s'] / cache['wall_s']:.1f}x" if both else "n/a"
        cpu_ratio = (f"{recompute['cpu_s'] / cache['cpu_s']:.1f}x"
                     if both and "cpu_s" in cache and "cpu_s" in recompute else "n/a")
        rows.append([length, f"{cache['wall_s']:.3f}" if cache else "n/a",
                     f"{recompute['wall_s']:.3f}" if recompute else "n/a", ratio,
                     f"{cache['cpu_s']:.3f}" if cache and "cpu_s" in cache else "n/a",
                     f"{recompute['cpu_s']:.3f}" if recompute and "cpu_s" in recompute else "n/a", cpu_ratio])
    if not rows:
        return ""
    return "### KV cache vs recompute (small model, greedy, 16-token prompt)\n\n" + table(
        ["generated tokens", "cache wall s", "recompute wall s", "recompute / cache (wall)", "cache CPU s",
         "recompute CPU s", "recompute / cache (CPU)"], rows)


def speculative_section(runs):
    pattern = re.compile(r"speculative/(\w+)/(\w+)$")
    by_dtype = {}
    for name, r in runs.items():
        match = pattern.match(name)
        if match:
            by_dtype.setdefault(match.group(1), {})[match.group(2)] = r
    sections = []
    for dtype in sorted(by_dtype):
        variants = by_dtype[dtype]
        ar = variants.get("ar")
        rows = []
        for label in sorted(variants, key=lambda v: (v != "ar", v)):
            r = variants[label]
            speedup = f"{r['decode_tokens_per_s'] / ar['decode_tokens_per_s']:.2f}x" if ar else "n/a"
            wall = f"{ar['wall_s'] / r['wall_s']:.2f}x" if ar else "n/a"
            acceptance = f"{r['acceptance_rate']:.2f}" if "acceptance_rate" in r else "-"
            length = f"{r['mean_acceptance_length']:.2f}" if "mean_acceptance_length" in r else "-"
            cpu = f"{ar['cpu_s'] / r['cpu_s']:.2f}x" if ar and "cpu_s" in r and "cpu_s" in ar else "n/a"
            rows.append([label, f"{r['decode_tokens_per_s']:.2f}", speedup, f"{r['wall_s']:.2f}", wall, cpu,
                         acceptance, length, int(r["forward_calls"]), int(r.get("draft_forward_calls", 0))])
        sections.append(f"### Speculative decoding ({dtype}, 64 tokens after a 128-token repetitive prompt)\n\n" +
                        table(["decoder", "decode tokens/s", "speed-up", "wall s", "wall speed-up", "CPU speed-up",
                               "acceptance", "mean acceptance length", "target forwards", "draft forwards"], rows))
    return "\n\n".join(sections)


def prefix_store_section(runs):
    names = {0: "no reuse, FIFO", 1: "memory store, FIFO", 2: "memory store, shortest prefill first",
             3: "disk store cold, FIFO", 4: "disk store warm (restart), FIFO",
             5: "mixed workload, memory store, FIFO", 6: "mixed workload, memory store, shortest prefill first"}
    found = {int(n.rsplit("/", 1)[1]): runs[n] for n in runs if re.match(r"BM_FewShot/\d+$", n)}
    if not found:
        return ""
    rows = []
    for variant in sorted(found):
        r = found[variant]
        mixed = variant >= 5  # the mixed workload has no no-reuse baseline: its gains are against FIFO
        rows.append([names.get(variant, str(variant)), f"{r['wall_s']:.1f}", f"{r['requests/s_wall']:.2f}",
                     f"{r['ttft_mean_s']:.1f}", f"{r['ttft_p90_s']:.1f}", f"{r['reused_fraction']:.2f}",
                     int(r["computed_prompt_tokens"]), "" if mixed else f"{r.get('speedup_wall', 1.0):.2f}x",
                     "" if mixed else f"{r.get('speedup_cpu', 1.0):.2f}x",
                     "" if mixed else f"{r.get('ttft_mean_ratio', 1.0):.2f}x",
                     f"{r['ttft_mean_ratio_vs_fifo']:.2f}x / {r['ttft_p90_ratio_vs_fifo']:.2f}x"
                     if "ttft_mean_ratio_vs_fifo" in r else "",
                     int(r.get("disk_hits", 0)), int(r.get("disk_writes", 0)), int(r.get("torn", 0))])
    return ("### Prefix store (8-shot prefix of 320 tokens + 200 questions of 8-40 tokens, 4 new tokens, batch 8)\n\n" +
            table(["variant", "wall s", "requests/s", "TTFT mean s", "TTFT p90 s", "reused share of prompt tokens",
                   "prompt tokens computed", "speed-up (wall)", "speed-up (CPU)", "TTFT mean gain",
                   "TTFT mean / p90 gain vs FIFO", "disk hits",
                   "disk writes", "torn"], rows))


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = load(argv[1:])
    sections = [s for s in (copy_section(runs), decode_section(runs), kernel_section(runs), kv_section(runs),
                            speculative_section(runs),
                            prefix_store_section(runs)) if s]
    print("\n\n".join(sections))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
