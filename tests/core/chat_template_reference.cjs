// Renders the conversations of tests/fixtures/chat_templates/conversations.json with @huggingface/jinja,
// the renderer of the Hugging Face JavaScript libraries, and prints {"case name": "rendered text", ...}.
//   node chat_template_reference.cjs NODE_MODULES_DIR FIXTURES_DIR
// A case whose rendering throws maps to {"error": message}.
"use strict";
const fs = require("fs");
const path = require("path");

const [modules, fixtures] = process.argv.slice(2);
const { Template } = require(path.join(modules, "@huggingface", "jinja"));
const { cases } = JSON.parse(fs.readFileSync(path.join(fixtures, "conversations.json"), "utf8"));
const parsed = new Map();
const out = {};
for (const c of cases) {
  try {
    if (!parsed.has(c.template)) {
      parsed.set(c.template, new Template(fs.readFileSync(path.join(fixtures, c.template), "utf8")));
    }
    out[c.name] = parsed.get(c.template).render(c.variables);
  } catch (e) {
    out[c.name] = { error: String(e && e.message ? e.message : e) };
  }
}
process.stdout.write(JSON.stringify(out));
