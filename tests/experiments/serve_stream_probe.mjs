// Streams one completion from `stepwise serve` with the official openai npm client and, when the first
// piece of text arrives, reads the server's /metrics: a live stream gets its first piece while the decode
// still runs (running rows 1, no tokens of it counted as generated yet). Prints one JSON object: the
// figures read then, the number of text chunks and the joined text. Usage:
//   node serve_stream_probe.mjs OPENAI_PACKAGE_DIR BASE_URL MODEL PROMPT MAX_TOKENS [EXTRA_BODY_JSON]
import { createRequire } from "node:module";
import path from "node:path";

const [packageDir, baseURL, model, prompt, maxTokens, extra] = process.argv.slice(2);
const require = createRequire(path.join(packageDir, "package.json"));
const { default: OpenAI } = await import(require.resolve("openai"));
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });
const extraBody = extra ? JSON.parse(extra) : {};

const metric = (text, name) => {
  const line = text.split("\n").find((l) => l.startsWith(name + " "));
  return line === undefined ? null : Number(line.split(" ")[1]);
};

let text = "";
let chunks = 0;
let atFirst = null;
const stream = await client.completions.create({ model, prompt, max_tokens: Number(maxTokens), stream: true, ...extraBody });
for await (const chunk of stream) {
  const piece = chunk.choices[0]?.text ?? "";
  if (piece === "") continue;
  if (atFirst === null) {
    const metrics = await (await fetch(new URL("/metrics", baseURL))).text();
    atFirst = {
      running_rows: metric(metrics, "stepwise_running_rows"),
      generated_tokens: metric(metrics, "stepwise_generated_tokens_total"),
    };
  }
  chunks += 1;
  text += piece;
}
console.log(JSON.stringify({ at_first: atFirst, chunks, text }));
