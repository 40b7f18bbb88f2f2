#!/usr/bin/env bash
# `stepwise serve` end to end on tiny random models with the real Qwen3 tokenizer: servers started on free
# localhost ports, driven by curl and by the official openai npm client. Greedy answers (completions,
# token-id prompts, chat, streamed) equal `stepwise generate` on the same prompt and decoder for AR,
# speculative and diffusion; bad input gets HTTP 400 with an OpenAI error body; the same long prompt twice
# reuses the prefix store (counters in /metrics) with identical output, also from disk after a kill -9 and
# with a torn entry; AR requests sent at staggered times join one running batch and each equals generate,
# concurrent requests are batched and answer as alone; a full queue gets 429; streams
# send their first piece while the decode runs; a client that leaves mid-stream or while queued frees its
# slot; --config serves named decoders over shared models;
# shortest-prefill-first decodes a short queued prompt before an older long one (fifo: after); SIGTERM
# exits 0.
# Usage: test_serve.sh STEPWISE MAKE_SERVE_MODELS PROJECT_ROOT
set -euo pipefail

stepwise="$1"
make_models="$2"
root="$3"
openai_dir="${root}/.cache/npm/node_modules/openai"
client="$(dirname "${BASH_SOURCE[0]}")/serve_openai_client.mjs"
probe="$(dirname "${BASH_SOURCE[0]}")/serve_stream_probe.mjs"
[[ -f "${openai_dir}/package.json" ]] || { echo "FAIL: ${openai_dir} missing: run scripts/fetch_npm.sh" >&2; exit 1; }
tokenizer_json="$(readlink -f "${root}/.cache/qwen3/tokenizer.json")"
[[ -f "${tokenizer_json}" ]] || { echo "FAIL: run scripts/fetch_tokenizer.sh first" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() {
  [[ -n "${server_pid}" ]] && kill -KILL "${server_pid}" 2>/dev/null || true
  rm -rf "${work}"
}
trap cleanup EXIT
"${make_models}" "${work}/models" "$(dirname "${tokenizer_json}")"

failures=0
passes=0
check() {  # check NAME CONDITION-COMMAND...
  local name="$1"
  shift
  if "$@"; then passes=$((passes + 1)); else echo "FAIL: ${name}" >&2; failures=$((failures + 1)); fi
}
json_field() { python3 -c 'import json,sys; v=json.load(sys.stdin); exec("r="+sys.argv[1]); print(json.dumps(r) if not isinstance(r,str) else r)' "$1"; }

port=""
start_server() {  # start_server LOG ARGS...: waits for the listening line, sets port and server_pid
  local log="$1"
  shift
  : >"${log}"
  "${stepwise}" serve --port 0 --threads 1 "$@" 2>"${log}" &
  server_pid=$!
  for _ in $(seq 300); do
    if grep -q "listening on" "${log}"; then
      port="$(grep -o 'listening on http://[^ ]*' "${log}" | sed 's/.*://')"
      return 0
    fi
    kill -0 "${server_pid}" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: server did not start" >&2
  cat "${log}" >&2
  exit 1
}
stop_server() {  # SIGTERM, then the exit code must be 0
  kill -TERM "${server_pid}"
  local code=0
  wait "${server_pid}" || code=$?
  server_pid=""
  check "server exits 0 on SIGTERM (got ${code})" test "${code}" -eq 0
}
metric() { curl -s "http://127.0.0.1:${port}/metrics" | awk -v name="$1" '$1 == name {print $2}'; }
wait_metric() {  # wait_metric NAME VALUE: polls /metrics until the gauge has the value
  for _ in $(seq 200); do
    [[ "$(metric "$1")" == "$2" ]] && return 0
    sleep 0.01
  done
  echo "FAIL: $1 never reached $2" >&2
  return 1
}
post() { curl -s -X POST "http://127.0.0.1:${port}$1" -H 'Content-Type: application/json' -d "$2"; }
status_of() { curl -s -o "${work}/body.json" -w '%{http_code}' -X POST "http://127.0.0.1:${port}$1" -d "$2"; }

# compare_with_generate NAME MODEL_DIR MAX_TOKENS EXTRA_BODY_JSON GENERATE_FLAGS...
compare_with_generate() {
  local name="$1" model="$2" max_tokens="$3" extra="$4"
  shift 4
  local prompt="The quick brown fox jumps over"
  local generated chat_generated expected_text expected_tokens prompt_ids expected_chat
  generated="$("${stepwise}" generate --model "${model}" --prompt "${prompt}" --json --max-new-tokens "${max_tokens}" \
    --threads 1 "$@")"
  expected_text="$(json_field 'v["text"]' <<<"${generated}")"
  expected_tokens="$(json_field 'v["tokens"]' <<<"${generated}")"
  prompt_ids="$(json_field 'v["prompt_ids"]' <<<"${generated}")"
  chat_generated="$("${stepwise}" generate --model "${model}" --prompt "${prompt}" --chat --json \
    --max-new-tokens "${max_tokens}" --threads 1 "$@")"
  expected_chat="$(json_field 'v["text"]' <<<"${chat_generated}")"

  local served_name
  served_name="$(basename "${model}")"
  local body
  body="$(python3 -c 'import json,sys; b={"model":sys.argv[1],"prompt":sys.argv[2],"max_tokens":int(sys.argv[3])}; b.update(json.loads(sys.argv[4])); print(json.dumps(b))' \
    "${served_name}" "${prompt}" "${max_tokens}" "${extra}")"
  local response
  response="$(post /v1/completions "${body}")"
  check "${name}: curl completion token ids equal generate" \
    test "$(json_field 'v["choices"][0]["token_ids"]' <<<"${response}")" == "${expected_tokens}"

  local got
  got="$(node "${client}" "${openai_dir}" "http://127.0.0.1:${port}/v1" "${served_name}" "${prompt}" "${max_tokens}" \
    "${prompt_ids}" "${extra}")"
  check "${name}: openai completion text" test "$(json_field 'v["text"]' <<<"${got}")" == "${expected_text}"
  check "${name}: openai token-id prompt" test "$(json_field 'v["ids_text"]' <<<"${got}")" == "${expected_text}"
  check "${name}: openai chat equals generate --chat" test "$(json_field 'v["chat_text"]' <<<"${got}")" == "${expected_chat}"
  check "${name}: chat role" test "$(json_field 'v["chat_role"]' <<<"${got}")" == "assistant"
  check "${name}: streamed completion joins to the text" \
    test "$(json_field 'v["streamed_text"]' <<<"${got}")" == "${expected_text}"
  check "${name}: streamed chat joins to the text" test "$(json_field 'v["streamed_chat"]' <<<"${got}")" == "${expected_chat}"
  check "${name}: stream finish_reason" test "$(json_field 'v["stream_finish"]' <<<"${got}")" == \
    "$(json_field 'v["finish_reason"]' <<<"${got}")"
  check "${name}: usage prompt tokens" test "$(json_field 'v["usage"]["prompt_tokens"]' <<<"${got}")" == \
    "$(json_field 'len(v["prompt_ids"])' <<<"${generated}")"
  check "${name}: stream usage present" test "$(json_field 'v["stream_usage"] is not None' <<<"${got}")" == "true"
  check "${name}: models list" test "$(json_field 'v["models"]' <<<"${got}")" == "[\"${served_name}\"]"
}

models="${work}/models"

# Live streaming: the first piece of text arrives while the decode still runs (its rows are running and
# none of its tokens is counted as generated yet), read with curl and with the openai client's streaming;
# the joined stream equals the whole answer.
sse_text() {  # the joined text of the completion chunks on stdin
  python3 -c 'import json,sys
t=""
for l in sys.stdin:
    l=l.strip()
    if l.startswith("data: ") and l != "data: [DONE]":
        t+="".join(c.get("text","") for c in json.loads(l[6:]).get("choices",[]))
print(t)'
}
live_check() {  # live_check NAME MODEL PROMPT MAX_TOKENS EXTRA_BODY_JSON
  local name="$1" model="$2" prompt="$3" max_tokens="$4" extra="$5"
  local body stream_body whole before line at_running at_generated streamed got
  body="$(python3 -c 'import json,sys; b={"model":sys.argv[1],"prompt":sys.argv[2],"max_tokens":int(sys.argv[3])}; b.update(json.loads(sys.argv[4])); print(json.dumps(b))' \
    "${model}" "${prompt}" "${max_tokens}" "${extra}")"
  stream_body="$(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); b["stream"]=True; print(json.dumps(b))' "${body}")"
  whole="$(post /v1/completions "${body}" | json_field 'v["choices"][0]["text"]')"
  before="$(metric stepwise_generated_tokens_total)"
  exec 3< <(curl -sN -X POST "http://127.0.0.1:${port}/v1/completions" -H 'Content-Type: application/json' -d "${stream_body}")
  line=""
  while IFS= read -r line <&3; do [[ "${line}" == data:* ]] && break; done
  at_running="$(metric stepwise_running_rows)"
  at_generated="$(metric stepwise_generated_tokens_total)"
  streamed="$({ echo "${line}"; cat <&3; } | sse_text)"
  exec 3<&-
  check "${name}: curl's first piece comes while the decode runs (running rows ${at_running})" test "${at_running}" == 1
  check "${name}: curl's first piece comes before the decode's tokens are counted (${at_generated} vs ${before})" \
    test "${at_generated}" == "${before}"
  check "${name}: curl's stream joins to the whole answer" test "${streamed}" == "${whole}"
  before="$(metric stepwise_generated_tokens_total)"
  got="$(node "${probe}" "${openai_dir}" "http://127.0.0.1:${port}/v1" "${model}" "${prompt}" "${max_tokens}" "${extra}")"
  check "${name}: openai's first piece comes while the decode runs" test "$(json_field 'v["at_first"]["running_rows"]' <<<"${got}")" == 1
  check "${name}: openai's first piece comes before the decode's tokens are counted" \
    test "$(json_field 'v["at_first"]["generated_tokens"]' <<<"${got}")" == "${before}"
  check "${name}: openai gets several chunks ($(json_field 'v["chunks"]' <<<"${got}"))" test "$(json_field 'v["chunks"]' <<<"${got}")" -gt 1
  check "${name}: openai's stream joins to the whole answer" test "$(json_field 'v["text"]' <<<"${got}")" == "${whole}"
}

# AR: the default decoder, and a body key (stop_on_eos) mapped onto the spec as --set would.
start_server "${work}/ar.log" --model "${models}/ar"
compare_with_generate "ar" "${models}/ar" 8 '{}'
compare_with_generate "ar stop_on_eos" "${models}/ar" 6 '{"stop_on_eos": false}' --no-stop-on-eos
check "health" test "$(curl -s "http://127.0.0.1:${port}/health")" == '{"status":"ok"}'

# Bad input: 400 with an OpenAI error body naming the field; the server stays up.
bad() {  # bad NAME PATH BODY PARAM
  local code
  code="$(status_of "$2" "$3")"
  check "$1: HTTP 400 (got ${code})" test "${code}" == 400
  check "$1: error.param" test "$(json_field 'v["error"]["param"]' <"${work}/body.json")" == "$4"
  check "$1: error.type" test "$(json_field 'v["error"]["type"]' <"${work}/body.json")" == "invalid_request_error"
}
bad "malformed JSON" /v1/completions '{"model": "ar", "prompt": ' null
bad "unknown field" /v1/completions '{"model":"ar","prompt":"x","frobnicate":1}' frobnicate
bad "unknown model" /v1/completions '{"model":"gpt-9","prompt":"x"}' model
bad "setting of another strategy" /v1/completions '{"model":"ar","prompt":"x","steps":4}' steps
bad "max_tokens beyond the context" /v1/completions '{"model":"ar","prompt":"x","max_tokens":100000}' max_tokens
bad "token id outside the vocabulary" /v1/completions '{"model":"ar","prompt":[1,999999999]}' prompt
bad "bad message" /v1/chat/completions '{"model":"ar","messages":[{"role":"user"}],"n":1,"x":1}' x
long_prompt="$(python3 -c 'print(" ".join(["word"] * 400))')"
bad "prompt longer than the context" /v1/completions "{\"model\":\"ar\",\"prompt\":\"${long_prompt}\"}" prompt
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port}/v1/nothing")"
check "unknown route 404 (got ${code})" test "${code}" == 404
check "metrics count the 400s" grep -q 'stepwise_requests_total{status="400"} 8' <(curl -s "http://127.0.0.1:${port}/metrics")
compare_with_generate "ar after bad input" "${models}/ar" 4 '{}'
live_check "ar live" ar "Stream this" 240 '{"stop_on_eos": false}'
stop_server

# Speculative decoding with a draft model; a body key changes the draft length. Concurrent speculative
# requests with different prompts and max_tokens share verification rounds (batch_rows) and each equals
# `stepwise generate`.
start_server "${work}/spec.log" --model "${models}/ar" --decoder speculative --draft-model "${models}/draft" --draft-length 3 \
  --max-batch 4
compare_with_generate "speculative" "${models}/ar" 8 '{}' --decoder speculative --draft-model "${models}/draft" --draft-length 3
compare_with_generate "speculative draft_length 2" "${models}/ar" 8 '{"draft_length": 2}' --decoder speculative \
  --draft-model "${models}/draft" --draft-length 2
spec_prompts=("A long walk through the hills" "A short note" "A middle length story" "Three more words")
spec_tokens=(120 6 30 17)
for i in "${!spec_prompts[@]}"; do
  post /v1/completions "{\"model\":\"ar\",\"prompt\":\"${spec_prompts[$i]}\",\"max_tokens\":${spec_tokens[$i]},\"stop_on_eos\":false}" \
    >"${work}/spec-${i}.json" &
done
wait $(jobs -p | grep -v "^${server_pid}$")
for i in "${!spec_prompts[@]}"; do
  expected="$("${stepwise}" generate --model "${models}/ar" --prompt "${spec_prompts[$i]}" --json --decoder speculative \
    --draft-model "${models}/draft" --draft-length 3 --max-new-tokens "${spec_tokens[$i]}" --threads 1 --no-stop-on-eos |
    json_field 'v["tokens"]')"
  check "speculative batching: request ${i} equals generate" \
    test "$(json_field 'v["choices"][0]["token_ids"]' <"${work}/spec-${i}.json")" == "${expected}"
done
check "speculative batching: some request shared its rounds" \
  grep -qv '^1$' <(for i in "${!spec_prompts[@]}"; do json_field 'v["timings"]["batch_rows"]' <"${work}/spec-${i}.json"; done)
stop_server

# Diffusion: steps and alg from the server's flags, then changed per request.
start_server "${work}/diffusion.log" --model "${models}/diffusion" --decoder diffusion --steps 8
compare_with_generate "diffusion" "${models}/diffusion" 16 '{}' --decoder diffusion --steps 8
compare_with_generate "diffusion steps 4 entropy" "${models}/diffusion" 16 '{"steps": 4, "alg": "entropy"}' \
  --decoder diffusion --steps 4 --alg entropy
bad "diffusion: bad alg" /v1/completions '{"model":"diffusion","prompt":"x","alg":"psychic"}' alg
live_check "diffusion live" diffusion "Stream this" 64 '{"steps": 32}'
stop_server

# --config: named decoders over shared models; a request's `model` picks one (greedy output equals
# `stepwise generate` with the same decoder), /v1/models lists them, body keys change a named decoder's
# settings; an unknown name is a 400 naming it; an error in the file names its line and key path.
cat >"${work}/serve.yaml" <<EOF
models:
  target: {path: ${models}/ar}
  small: {path: ${models}/draft}
  dream: {path: ${models}/diffusion}
decoders:
  - {name: greedy, type: ar, model: target}
  - {name: spec, type: speculative, model: target, draft_model: small, draft_length: 3}
  - {name: diffuse, type: diffusion, model: dream, steps: 8}
EOF
start_server "${work}/config.log" --config "${work}/serve.yaml"
check "config: /v1/models lists the named decoders" \
  test "$(curl -s "http://127.0.0.1:${port}/v1/models" | json_field '[m["id"] for m in v["data"]]')" == '["greedy", "spec", "diffuse"]'
config_prompt="The quick brown fox jumps over"
config_check() {  # config_check NAME MODEL_DIR MAX_TOKENS EXTRA_BODY_JSON GENERATE_FLAGS...
  local name="$1" model_dir="$2" max_tokens="$3" extra="$4"
  shift 4
  local expected body
  expected="$("${stepwise}" generate --model "${model_dir}" --prompt "${config_prompt}" --json --max-new-tokens "${max_tokens}" \
    --threads 1 "$@" | json_field 'v["tokens"]')"
  body="$(python3 -c 'import json,sys; b={"model":sys.argv[1],"prompt":sys.argv[2],"max_tokens":int(sys.argv[3])}; b.update(json.loads(sys.argv[4])); print(json.dumps(b))' \
    "${name}" "${config_prompt}" "${max_tokens}" "${extra}")"
  check "config: ${name} ${extra} equals generate" \
    test "$(post /v1/completions "${body}" | json_field 'v["choices"][0]["token_ids"]')" == "${expected}"
}
config_check greedy "${models}/ar" 8 '{}'
config_check spec "${models}/ar" 8 '{}' --decoder speculative --draft-model "${models}/draft" --draft-length 3
config_check diffuse "${models}/diffusion" 16 '{}' --decoder diffusion --steps 8
config_check diffuse "${models}/diffusion" 16 '{"steps": 4, "alg": "entropy"}' --decoder diffusion --steps 4 --alg entropy
code="$(status_of /v1/completions '{"model":"nope","prompt":"x"}')"
check "config: unknown name is 400 (got ${code})" test "${code}" == 400
check "config: the error names the model" grep -q "'nope' is not served here" "${work}/body.json"
check "config: the error lists the served names" grep -q "'greedy', 'spec', 'diffuse'" "${work}/body.json"
bad "config: setting of another strategy" /v1/completions '{"model":"greedy","prompt":"x","steps":4}' steps
stop_server
printf 'models:\n  target: {path: %s}\ndecoders:\n  - {name: a, type: ar, model: target}\n  - {name: b, type: ar, model: target, stepz: 3}\n' \
  "${models}/ar" >"${work}/bad.yaml"
code=0
"${stepwise}" serve --config "${work}/bad.yaml" --port 0 2>"${work}/bad-config.log" || code=$?
check "config: a bad file exits 2 (got ${code})" test "${code}" -eq 2
check "config: the error names the line and key path" grep -q "bad.yaml:5: decoders\[1\].stepz: unknown key" "${work}/bad-config.log"
code=0
"${stepwise}" serve --config "${work}/serve.yaml" --model "${models}/ar" --port 0 2>"${work}/both.log" || code=$?
check "config: --config with --model is refused (got ${code})" test "${code}" -eq 2

# Prefix reuse: the same long prompt twice; the second prefill comes from the store.
start_server "${work}/prefix.log" --model "${models}/ar" --prefix-cache memory_mb=64,chunk_tokens=8
long_body="{\"model\":\"ar\",\"prompt\":\"$(python3 -c 'print(" ".join(["alpha beta gamma"] * 20))')\",\"max_tokens\":6}"
first="$(post /v1/completions "${long_body}" | json_field 'v["choices"][0]["token_ids"]')"
hits_before="$(curl -s "http://127.0.0.1:${port}/metrics" | awk '/^stepwise_prefix_store_memory_hits_total/ {print $2}')"
second="$(post /v1/completions "${long_body}" | json_field 'v["choices"][0]["token_ids"]')"
metrics="$(curl -s "http://127.0.0.1:${port}/metrics")"
hits_after="$(awk '/^stepwise_prefix_store_memory_hits_total/ {print $2}' <<<"${metrics}")"
reused="$(awk '/^stepwise_prefix_reused_prompt_tokens_total/ {print $2}' <<<"${metrics}")"
check "prefix reuse: identical output" test "${first}" == "${second}"
check "prefix reuse: no hits on the first request (${hits_before})" test "${hits_before}" -eq 0
check "prefix reuse: hits on the second (${hits_after})" test "${hits_after}" -gt 0
check "prefix reuse: reused prompt tokens counted (${reused})" test "${reused}" -gt 0
stop_server

# Continuous batching: while a long request decodes, requests sent at staggered times with other
# max_tokens join its running batch (their batch_rows, and more rows than steps in /metrics, show it) and
# leave it when done (fewer than 3 rows per step on average); each equals `stepwise generate` on its
# prompt. Then 8 concurrent requests share the steps (--max-batch 4) and each equals itself sent alone.
start_server "${work}/batch.log" --model "${models}/ar" --max-batch 4
joined_prompts=("A long walk through the hills" "A short note" "A middle length story")
joined_tokens=(240 5 30)
post /v1/completions "{\"model\":\"ar\",\"prompt\":\"${joined_prompts[0]}\",\"max_tokens\":${joined_tokens[0]},\"stop_on_eos\":false}" \
  >"${work}/joined-0.json" &
wait_metric stepwise_running_rows 1
for i in 1 2; do
  post /v1/completions "{\"model\":\"ar\",\"prompt\":\"${joined_prompts[$i]}\",\"max_tokens\":${joined_tokens[$i]},\"stop_on_eos\":false}" \
    >"${work}/joined-${i}.json" &
  sleep 0.05
done
wait $(jobs -p | grep -v "^${server_pid}$")
for i in 0 1 2; do
  expected="$("${stepwise}" generate --model "${models}/ar" --prompt "${joined_prompts[$i]}" --json \
    --max-new-tokens "${joined_tokens[$i]}" --threads 1 --no-stop-on-eos | json_field 'v["tokens"]')"
  check "continuous batching: request ${i} equals generate" \
    test "$(json_field 'v["choices"][0]["token_ids"]' <"${work}/joined-${i}.json")" == "${expected}"
  rows="$(json_field 'v["timings"]["batch_rows"]' <"${work}/joined-${i}.json")"
  check "continuous batching: request ${i} ran beside another (batch_rows ${rows})" test "${rows}" -ge 2
done
steps="$(metric stepwise_batches_total)"
rows="$(metric stepwise_batch_rows_total)"
check "continuous batching: rows shared steps (${rows} rows in ${steps} steps)" test "${rows}" -gt "${steps}"
check "continuous batching: finished rows left the batch (${rows} rows in ${steps} steps)" test "${rows}" -lt $((3 * steps))
words=(red green blue yellow purple orange black white)
for i in "${!words[@]}"; do
  post /v1/completions "{\"model\":\"ar\",\"prompt\":\"A ${words[$i]} house with ${i} doors\",\"max_tokens\":24}" \
    >"${work}/together-${i}.json" &
done
wait $(jobs -p | grep -v "^${server_pid}$")
for i in "${!words[@]}"; do
  rows="$(json_field 'v["timings"]["batch_rows"]' <"${work}/together-${i}.json")"
  check "batching: request ${i} within --max-batch (batch_rows ${rows})" test "${rows}" -le 4
  alone="$(post /v1/completions "{\"model\":\"ar\",\"prompt\":\"A ${words[$i]} house with ${i} doors\",\"max_tokens\":24}" |
    json_field 'v["choices"][0]["token_ids"]')"
  check "batching: request ${i} equals it alone" test "$(json_field 'v["choices"][0]["token_ids"]' <"${work}/together-${i}.json")" == "${alone}"
done
check "batching: some request shared its steps" \
  grep -qv '^1$' <(for i in "${!words[@]}"; do json_field 'v["timings"]["batch_rows"]' <"${work}/together-${i}.json"; done)
stop_server

# --batching per_call: the same three requests sent together; with different max_tokens none shares a
# decode call, and each still equals generate. A mode that does not exist is refused.
start_server "${work}/per-call.log" --model "${models}/ar" --max-batch 4 --batching per_call
for i in 0 1 2; do
  post /v1/completions "{\"model\":\"ar\",\"prompt\":\"${joined_prompts[$i]}\",\"max_tokens\":${joined_tokens[$i]},\"stop_on_eos\":false}" \
    >"${work}/per-call-${i}.json" &
done
wait $(jobs -p | grep -v "^${server_pid}$")
for i in 0 1 2; do
  check "per-call batching: request ${i} equals the continuous server's answer" \
    test "$(json_field 'v["choices"][0]["token_ids"]' <"${work}/per-call-${i}.json")" == \
    "$(json_field 'v["choices"][0]["token_ids"]' <"${work}/joined-${i}.json")"
  rows="$(json_field 'v["timings"]["batch_rows"]' <"${work}/per-call-${i}.json")"
  check "per-call batching: request ${i} ran in a call of its own (batch_rows ${rows})" test "${rows}" -eq 1
done
stop_server
code=0
"${stepwise}" serve --model "${models}/ar" --port 0 --batching sometimes 2>"${work}/bad-batching.log" || code=$?
check "--batching: an unknown mode exits 2 (got ${code})" test "${code}" -eq 2
check "--batching: the error names the flag" grep -q -- "--batching: expected continuous or per_call" "${work}/bad-batching.log"

# A full queue: one running, one waiting, the rest get 429 with an OpenAI error body.
start_server "${work}/queue.log" --model "${models}/ar" --max-batch 1 --max-queue 1
for i in $(seq 6); do
  curl -s -o "${work}/queue-${i}.json" -w '%{http_code}\n' -X POST "http://127.0.0.1:${port}/v1/completions" \
    -d "{\"model\":\"ar\",\"prompt\":\"count ${i}\",\"max_tokens\":200,\"stop_on_eos\":false}" >"${work}/queue-${i}.code" &
done
wait $(jobs -p | grep -v "^${server_pid}$")
ok="$(cat "${work}"/queue-*.code | grep -c '^200$' || true)"
full="$(cat "${work}"/queue-*.code | grep -c '^429$' || true)"
check "queue: some answered (${ok})" test "${ok}" -ge 2
check "queue: some refused with 429 (${full})" test "${full}" -ge 1
check "queue: every request answered 200 or 429" test "$((ok + full))" -eq 6
for i in $(seq 6); do
  if grep -q '^429$' "${work}/queue-${i}.code"; then
    check "queue: 429 body" test "$(json_field 'v["error"]["code"]' <"${work}/queue-${i}.json")" == "queue_full"
  fi
done
stop_server

# SIGTERM with requests in flight: the running one is answered, the queued ones get 503, exit code 0.
start_server "${work}/term.log" --model "${models}/ar" --max-batch 1 --max-queue 8
for i in $(seq 4); do
  curl -s -o "${work}/term-${i}.json" -w '%{http_code}\n' -X POST "http://127.0.0.1:${port}/v1/completions" \
    -d "{\"model\":\"ar\",\"prompt\":\"term ${i}\",\"max_tokens\":200,\"stop_on_eos\":false}" >"${work}/term-${i}.code" &
done
sleep 0.5
kill -TERM "${server_pid}"
code=0
wait "${server_pid}" || code=$?
server_pid=""
wait
check "SIGTERM in flight: exit 0 (got ${code})" test "${code}" -eq 0
answered="$(cat "${work}"/term-*.code | grep -c '^200$' || true)"
refused="$(cat "${work}"/term-*.code | grep -c '^503$' || true)"
check "SIGTERM in flight: the running request answered (${answered})" test "${answered}" -ge 1
check "SIGTERM in flight: queued requests refused with 503 (${refused})" test "${refused}" -ge 1
check "SIGTERM in flight: every request answered 200 or 503" test "$((answered + refused))" -eq 4

# Shortest prefill first: while one request decodes, a long-prompt request and then a short one queue;
# the short one is decoded first (with fifo: second).
order_check() {  # order_check ORDER EXPECTED_FIRST
  start_server "${work}/order-$1.log" --model "${models}/ar" --max-batch 1 --order "$1"
  post /v1/completions '{"model":"ar","prompt":"busy","max_tokens":250,"stop_on_eos":false}' >/dev/null &
  local busy=$!
  wait_metric stepwise_running_rows 1
  (post /v1/completions "{\"model\":\"ar\",\"prompt\":\"$(python3 -c 'print(" ".join(["long"] * 150))')\",\"max_tokens\":8}" >/dev/null
   echo long >>"${work}/order-$1.done") &
  local long=$!
  wait_metric stepwise_queue_length 1
  (post /v1/completions '{"model":"ar","prompt":"short","max_tokens":8}' >/dev/null; echo short >>"${work}/order-$1.done") &
  local short=$!
  wait "${busy}" "${long}" "${short}"
  check "order $1: ${2} answered first ($(head -1 "${work}/order-$1.done"))" test "$(head -1 "${work}/order-$1.done")" == "$2"
  stop_server
}
order_check fifo long
order_check shortest_prefill_first short

# Disconnects: a client that leaves mid-stream cancels its decode (the row stops: fewer tokens than asked
# are generated), one that leaves while queued leaves the queue at once; later requests are answered as
# when sent alone.
wait_for_data() {  # wait_for_data FILE PATTERN: until the file holds a line starting with PATTERN
  for _ in $(seq 500); do
    grep -q "^$2" "$1" 2>/dev/null && return 0
    sleep 0.01
  done
  echo "FAIL: no '$2' in $1" >&2
  return 1
}
start_server "${work}/cancel.log" --model "${models}/ar" --max-batch 1
alone="$(post /v1/completions '{"model":"ar","prompt":"after the others","max_tokens":12}' | json_field 'v["choices"][0]["token_ids"]')"
before="$(metric stepwise_generated_tokens_total)"
curl -sN -X POST "http://127.0.0.1:${port}/v1/completions" \
  -d '{"model":"ar","prompt":"leave early","max_tokens":240,"stop_on_eos":false,"stream":true}' >"${work}/left.sse" &
leaver=$!
wait_for_data "${work}/left.sse" "data:"
kill -KILL "${leaver}"
wait "${leaver}" 2>/dev/null || true
wait_metric 'stepwise_cancelled_requests_total{where="decoding"}' 1
wait_metric stepwise_running_rows 0
generated=$(( $(metric stepwise_generated_tokens_total) - before ))
check "left mid-stream: the decode stopped early (${generated} of 240 tokens)" test "${generated}" -lt 240
check "left mid-stream: a later request equals it alone" test \
  "$(post /v1/completions '{"model":"ar","prompt":"after the others","max_tokens":12}' | json_field 'v["choices"][0]["token_ids"]')" == "${alone}"
stop_server

start_server "${work}/cancel-queued.log" --model "${models}/diffusion" --decoder diffusion --steps 32 --max-batch 1
post /v1/completions '{"model":"diffusion","prompt":"busy","max_tokens":64}' >/dev/null &
busy=$!
wait_metric stepwise_running_rows 1
curl -sN -X POST "http://127.0.0.1:${port}/v1/completions" \
  -d '{"model":"diffusion","prompt":"leave while queued","max_tokens":64,"stream":true}' >"${work}/queued.sse" &
leaver=$!
wait_metric stepwise_queue_length 1
wait_for_data "${work}/queued.sse" ":"
kill -KILL "${leaver}"
wait "${leaver}" 2>/dev/null || true
wait_metric 'stepwise_cancelled_requests_total{where="queued"}' 1
wait_metric stepwise_queue_length 0
check "left while queued: out of the queue while the busy decode still runs" kill -0 "${busy}"
wait "${busy}"
check "left while queued: decoded once, the busy request only ($(metric stepwise_batches_total))" \
  test "$(metric stepwise_batches_total)" -eq 1
stop_server

# A disk prefix store persists between runs; a torn entry (a server killed mid-write) is ignored.
store="${work}/store"
start_server "${work}/disk1.log" --model "${models}/ar" --prefix-cache "memory_mb=16,disk_path=${store},chunk_tokens=8"
first="$(post /v1/completions "${long_body}" | json_field 'v["choices"][0]["token_ids"]')"
kill -KILL "${server_pid}"
wait "${server_pid}" 2>/dev/null || true
server_pid=""
entry="$(find "${store}" -type f -name "*.safetensors" | sort | tail -1)"
check "disk store: entries written" test -n "${entry}"
start_server "${work}/disk2.log" --model "${models}/ar" --prefix-cache "memory_mb=16,disk_path=${store},chunk_tokens=8"
again="$(post /v1/completions "${long_body}" | json_field 'v["choices"][0]["token_ids"]')"
disk_hits="$(curl -s "http://127.0.0.1:${port}/metrics" | awk '/^stepwise_prefix_store_disk_hits_total/ {print $2}')"
check "disk store: identical output after a restart" test "${first}" == "${again}"
check "disk store: hits from disk (${disk_hits})" test "${disk_hits}" -gt 0
kill -KILL "${server_pid}"
wait "${server_pid}" 2>/dev/null || true
server_pid=""
truncate -s $(( $(stat -c %s "${entry}") / 2 )) "${entry}"
start_server "${work}/disk3.log" --model "${models}/ar" --prefix-cache "memory_mb=16,disk_path=${store},chunk_tokens=8"
torn_run="$(post /v1/completions "${long_body}" | json_field 'v["choices"][0]["token_ids"]')"
torn="$(curl -s "http://127.0.0.1:${port}/metrics" | awk '/^stepwise_prefix_store_torn_total/ {print $2}')"
check "disk store: identical output with a torn entry" test "${first}" == "${torn_run}"
check "disk store: the torn entry is counted (${torn})" test "${torn}" -ge 1
stop_server

echo "${passes} passed, ${failures} failed"
[[ "${failures}" -eq 0 ]]
