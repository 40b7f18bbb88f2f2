// Load test of a running `stepwise serve` (localhost only): CLIENTS concurrent clients each send
// REQUESTS completions drawn round-robin from a fixed mix of prompt lengths and decoder settings, after
// each distinct request was sent alone once for its reference answer. Prints JSON: requests/s, generated
// tokens/s, TTFT p50 / p99 (the server's timings.ttft_s), mean batch rows, and how many answers differ
// from their reference (greedy decoding: must be 0) or failed.
// Usage: node scripts/serve_load.mjs BASE_URL MODEL [CLIENTS=64] [REQUESTS=8] [MAX_TOKENS=16] [EXTRA_BODIES_JSON]
//   EXTRA_BODIES_JSON: a list of body-key objects to mix in (default [{}, {"stop_on_eos": false}]).
const [baseURL, model, clientsArg, requestsArg, maxTokensArg, extrasArg] = process.argv.slice(2);
if (!baseURL || !model) {
  console.error("usage: node scripts/serve_load.mjs BASE_URL MODEL [CLIENTS] [REQUESTS] [MAX_TOKENS] [EXTRA_BODIES_JSON]");
  process.exit(2);
}
const clients = Number(clientsArg ?? 64);
const perClient = Number(requestsArg ?? 8);
const maxTokens = Number(maxTokensArg ?? 16);
const extras = JSON.parse(extrasArg ?? '[{}, {"stop_on_eos": false}]');
const lengths = [4, 16, 40, 90];  // prompt words

const mix = [];
for (const words of lengths)
  for (const extra of extras)
    mix.push({ model, prompt: Array.from({ length: words }, (_, i) => `w${i % 17}`).join(" "), max_tokens: maxTokens, ...extra });

async function send(body) {
  const response = await fetch(`${baseURL}/v1/completions`, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const json = await response.json();
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

const reference = [];
for (const body of mix) reference.push(JSON.stringify((await send(body)).choices[0].token_ids));

const ttft = [];
let tokens = 0, mismatches = 0, failures = 0, batchRows = 0, answered = 0;
const start = performance.now();
await Promise.all(Array.from({ length: clients }, async (_, client) => {
  for (let r = 0; r < perClient; ++r) {
    const index = (client * perClient + r) % mix.length;
    try {
      const answer = await send(mix[index]);
      answered += 1;
      ttft.push(answer.timings.ttft_s);
      batchRows += answer.timings.batch_rows;
      tokens += answer.usage.completion_tokens;
      if (JSON.stringify(answer.choices[0].token_ids) !== reference[index]) mismatches += 1;
    } catch (error) {
      failures += 1;
      if (failures <= 3) console.error(String(error));
    }
  }
}));
const wall = (performance.now() - start) / 1000;
ttft.sort((a, b) => a - b);
const quantile = (q) => (ttft.length ? ttft[Math.min(ttft.length - 1, Math.floor(q * ttft.length))] : null);
console.log(JSON.stringify({
  clients, requests_per_client: perClient, requests: clients * perClient, answered, failures, mismatches,
  wall_s: wall, requests_per_s: answered / wall, generated_tokens_per_s: tokens / wall,
  ttft_p50_s: quantile(0.5), ttft_p99_s: quantile(0.99), mean_batch_rows: answered ? batchRows / answered : 0,
}));
process.exit(mismatches === 0 && failures === 0 ? 0 : 1);
