// Drives `stepwise serve` with the official openai npm client (no code of ours on the client side) and
// prints one JSON object of what it got back: a completion, a token-id-prompt completion, a chat
// completion, and the same completion and chat streamed (the pieces joined). Usage:
//   node serve_openai_client.mjs OPENAI_PACKAGE_DIR BASE_URL MODEL PROMPT MAX_TOKENS PROMPT_IDS_JSON [EXTRA_BODY_JSON]
import { createRequire } from "node:module";
import path from "node:path";

const [packageDir, baseURL, model, prompt, maxTokens, promptIds, extra] = process.argv.slice(2);
const require = createRequire(path.join(packageDir, "package.json"));
const { default: OpenAI } = await import(require.resolve("openai"));
const client = new OpenAI({ baseURL, apiKey: "unused", maxRetries: 0 });
const extraBody = extra ? JSON.parse(extra) : {};
const max_tokens = Number(maxTokens);

const completion = await client.completions.create({ model, prompt, max_tokens, ...extraBody });
const fromIds = await client.completions.create({ model, prompt: JSON.parse(promptIds), max_tokens, ...extraBody });
const messages = [{ role: "user", content: prompt }];
const chat = await client.chat.completions.create({ model, messages, max_tokens, ...extraBody });

let streamedText = "";
let streamFinish = null;
const stream = await client.completions.create({ model, prompt, max_tokens, stream: true, ...extraBody });
for await (const chunk of stream) {
  streamedText += chunk.choices[0]?.text ?? "";
  streamFinish = chunk.choices[0]?.finish_reason ?? streamFinish;
}
let streamedChat = "";
let usage = null;
const chatStream = await client.chat.completions.create({
  model, messages, max_tokens, stream: true, stream_options: { include_usage: true }, ...extraBody,
});
for await (const chunk of chatStream) {
  streamedChat += chunk.choices[0]?.delta?.content ?? "";
  if (chunk.usage) usage = chunk.usage;
}
const models = await client.models.list();

console.log(JSON.stringify({
  text: completion.choices[0].text,
  finish_reason: completion.choices[0].finish_reason,
  usage: completion.usage,
  ids_text: fromIds.choices[0].text,
  chat_text: chat.choices[0].message.content,
  chat_role: chat.choices[0].message.role,
  streamed_text: streamedText,
  stream_finish: streamFinish,
  streamed_chat: streamedChat,
  stream_usage: usage,
  models: models.data.map((m) => m.id),
}));
