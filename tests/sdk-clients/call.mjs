// One call through the vault with an official npm SDK in its default configuration (default retries and timeouts),
// as an app would make it. Prints one JSON line: what the app got, or the error it caught, and how long the call took.
// Usage: node call.mjs <openai|anthropic> <baseURL> <apiKey> <model> [stream]
import OpenAI, * as openaiExports from 'openai';
import Anthropic, * as anthropicExports from '@anthropic-ai/sdk';

const [sdk, baseURL, apiKey, model, mode] = process.argv.slice(2);
const messages = [{ role: 'user', content: 'Hi' }];
if (process.env.OKAP_CALL_ON_GO) {
  // Node's start-up takes a variable second or two: a test that must act just before the call says when.
  process.stderr.write('ready\n');
  await new Promise(resolve => process.stdin.once('data', resolve));
  process.stdin.pause();
}
const out = {};
const started = performance.now();
try {
  if (sdk === 'openai') {
    const client = new OpenAI({ apiKey, baseURL });
    if (mode === 'stream') {
      const stream = await client.chat.completions.create({ model, messages, stream: true });
      out.chunks = [];
      for await (const chunk of stream) out.chunks.push(chunk);
      out.text = out.chunks.map(c => c.choices[0]?.delta?.content ?? '').join('');
    } else {
      const reply = await client.chat.completions.create({ model, messages });
      out.text = reply.choices[0].message.content;
    }
  } else if (sdk === 'anthropic') {
    const client = new Anthropic({ apiKey, baseURL });
    const reply = await client.messages.create({ model, max_tokens: 100, messages });
    out.text = reply.content[0].text;
  } else {
    throw new Error(`unknown sdk ${sdk}`);
  }
  out.ok = true;
} catch (e) {
  const exported = sdk === 'openai' ? openaiExports : anthropicExports;
  out.ok = false;
  out.error = e.constructor.name;
  // Every error class the SDK exports that the app could catch this error as (e.g. RateLimitError and APIError).
  out.classes = Object.entries(exported).filter(([, v]) => typeof v === 'function' && typeof v.prototype === 'object' && e instanceof v).map(([k]) => k);
  out.status = e.status ?? null;
  out.message = e.message;
  out.code = e.code ?? null;
  out.type = e.type ?? e.error?.error?.type ?? null;
}
out.elapsedMs = Math.round(performance.now() - started);
process.stdout.write(JSON.stringify(out) + '\n');
