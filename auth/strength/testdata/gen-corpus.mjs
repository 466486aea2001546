// gen-corpus.mjs writes corpus.json: zxcvbn@4.4.2's verdict, computed here in node, on
// every input of passwords.txt and bench-inputs.txt. corpus_test.go checks the Go scorer
// against it (no node needed there).
//
// Run from this folder: npm ci && node gen-corpus.mjs   (several minutes: zxcvbn.js takes
// up to a minute or more on a single 256-character random password).
//
// passwords.txt format: one password a line; "#" lines are comments, blank lines are
// skipped; a line starting with " or [ is JSON (a string: the password; an array:
// [password, user_input, ...]); any other line is the password as written.
import { createRequire } from 'node:module';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const zxcvbn = require('zxcvbn');
const scoring = require('zxcvbn/lib/scoring.js');
const lists = require('zxcvbn/lib/frequency_lists.js');
const graphs = require('zxcvbn/lib/adjacency_graphs.js');
const pkg = require('zxcvbn/package.json');

const here = (f) => new URL(f, import.meta.url);

const inputs = [];
for (const line of readFileSync(here('./passwords.txt'), 'utf8').split('\n')) {
  if (line === '' || line.startsWith('#')) continue;
  if (line.startsWith('"') || line.startsWith('[')) {
    const v = JSON.parse(line);
    if (Array.isArray(v)) inputs.push({ source: 'passwords.txt', password: v[0], user_inputs: v.slice(1) });
    else inputs.push({ source: 'passwords.txt', password: v, user_inputs: [] });
  } else {
    inputs.push({ source: 'passwords.txt', password: line, user_inputs: [] });
  }
}
for (const line of readFileSync(here('./bench-inputs.txt'), 'utf8').split('\n')) {
  if (line === '') continue;
  const [kind, len, pw] = line.split('\t');
  inputs.push({ source: `bench-inputs.txt ${kind} ${len}`, password: JSON.parse(pw), user_inputs: [] });
}

// Digests of zxcvbn's data, so the Go side can prove it uses the same word lists and
// keyboard graphs (TestDictionaryFingerprint).
const sha = (s) => createHash('sha256').update(s, 'utf8').digest('hex');
const listText = Object.entries(lists).map(([name, words]) => `${name}\n${words.join('\n')}\n`).join('');
const graphText = Object.entries(graphs)
  .map(([name, g]) => `${name}\n` + Object.keys(g).sort().map((k) => [k, ...g[k].map((x) => x ?? '')].join('\t') + '\n').join(''))
  .join('');

const seqItem = (m) => `${m.pattern} ${m.i}-${m.j}` + (m.pattern === 'dictionary' ? ` ${m.dictionary_name}${m.l33t ? ' l33t' : ''}${m.reversed ? ' reversed' : ''}` : '');

// For quick checks while developing: CORPUS_MAX_UNITS=100 CORPUS_OUT=/tmp/quick.json
// skips the long inputs and writes elsewhere. The committed corpus uses neither.
const maxUnits = Number(process.env.CORPUS_MAX_UNITS || Infinity);
const out = process.env.CORPUS_OUT ? new URL('file://' + process.env.CORPUS_OUT) : here('./corpus.json');

const entries = [];
const started = Date.now();
for (const [n, inp] of inputs.entries()) {
  if (inp.password.length > maxUnits) continue;
  const t0 = process.hrtime.bigint();
  const r = zxcvbn(inp.password, inp.user_inputs);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (ms > 1000) console.error(`  ${n}: ${inp.password.length} units, ${(ms / 1000).toFixed(1)} s`);
  entries.push({
    password: inp.password,
    user_inputs: inp.user_inputs,
    source: inp.source,
    score: r.score,
    guesses: r.guesses,
    guesses_text: String(r.guesses),
    crack_time: r.crack_times_display.offline_slow_hashing_1e4_per_second,
    warning: r.feedback.warning,
    suggestions: r.feedback.suggestions,
    sequence: r.sequence.map(seqItem),
  });
}

const corpus = {
  generator: 'testdata/gen-corpus.mjs',
  zxcvbn: pkg.version,
  node: process.version,
  reference_year: scoring.REFERENCE_YEAR,
  frequency_lists_sha256: sha(listText),
  frequency_lists_order: Object.keys(lists),
  adjacency_graphs_sha256: sha(graphText),
  entries,
};
writeFileSync(out, JSON.stringify(corpus, null, 1) + '\n');
console.log(`wrote ${out.pathname}: ${entries.length} entries in ${((Date.now() - started) / 1000).toFixed(0)} s`);
