// gen-bench-inputs.mjs writes bench-inputs.txt: the passwords that bench.mjs (zxcvbn.js)
// and the Go timing table (TestPrintTimingTable) both time, and that gen-corpus.mjs also
// puts in the corpus. Deterministic: a fixed seed, zxcvbn@4.4.2's own word list.
//
// Format: one input a line, "kind<TAB>length<TAB>password" (JSON-quoted password).
// Kinds: "random" (printable ASCII, 0x21-0x7e, uniform) and "words" (lowercase English
// words from zxcvbn's english_wikipedia list, ranks 1000-20000, joined by spaces and cut
// to the length).
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const lists = require('zxcvbn/lib/frequency_lists.js');

export const LENGTHS = [8, 16, 32, 64, 128, 256];
export const PER_CELL = 5;
const SEED = 0x5eed2026;

// mulberry32
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const rand = prng(SEED);
const pick = (n) => Math.floor(rand() * n);
const words = lists.english_wikipedia.slice(1000, 20000).filter((w) => /^[a-z]+$/.test(w));

const lines = [];
for (const kind of ['random', 'words']) {
  for (const len of LENGTHS) {
    for (let s = 0; s < PER_CELL; s++) {
      let pw = '';
      if (kind === 'random') {
        for (let i = 0; i < len; i++) pw += String.fromCharCode(0x21 + pick(94));
      } else {
        while (pw.length < len) pw += (pw ? ' ' : '') + words[pick(words.length)];
        pw = pw.slice(0, len);
      }
      lines.push(`${kind}\t${len}\t${JSON.stringify(pw)}`);
    }
  }
}
writeFileSync(new URL('./bench-inputs.txt', import.meta.url), lines.join('\n') + '\n');
console.log(`wrote bench-inputs.txt: ${lines.length} inputs`);
