// bench.mjs times zxcvbn@4.4.2 in node on bench-inputs.txt and prints, per kind and
// length, the median and worst time of one zxcvbn() call: the node half of the table in
// docs/benchmarks.md. The Go half, on the same inputs and with the same repeats:
//
//	WEFTID_TIMING=1 go test ./auth/strength -run TestPrintTimingTable -v
//
// Run from this folder: npm ci && node bench.mjs   (long: zxcvbn.js takes a minute or
// more on one 256-character random password).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const zxcvbn = require('zxcvbn');

// Each input of up to 64 characters is timed 10 times, longer ones once (as in Go).
const repeats = (len) => (len <= 64 ? 10 : 1);

const inputs = readFileSync(new URL('./bench-inputs.txt', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => {
    const [kind, len, pw] = line.split('\t');
    return { kind, len: Number(len), pw: JSON.parse(pw) };
  });

// warm up the JIT on the short inputs
for (const { pw, len } of inputs) if (len <= 32) zxcvbn(pw);

const samples = new Map();
for (const { kind, len, pw } of inputs) {
  const key = `${kind}\t${len}`;
  if (!samples.has(key)) samples.set(key, []);
  for (let r = 0; r < repeats(len); r++) {
    const t0 = process.hrtime.bigint();
    zxcvbn(pw);
    samples.get(key).push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
}

const median = (s) => (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2);
console.log(`# zxcvbn ${require('zxcvbn/package.json').version}, node ${process.version}`);
console.log('kind\tlength\tsamples\tmedian_ms\tworst_ms');
for (const [key, s] of samples) {
  s.sort((a, b) => a - b);
  console.log(`${key}\t${s.length}\t${median(s).toFixed(3)}\t${s[s.length - 1].toFixed(3)}`);
}
