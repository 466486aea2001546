// gen-fuzz.mjs writes a corpus-format file (not committed) of `count` passwords built
// from random pieces zxcvbn matches (words, l33t, reversed and capitalised words, dates,
// years, keyboard walks, repeats, sequences, "constructor"/"__proto__", case-changing and
// astral characters, random runs, separators), up to maxLen units, some with user
// inputs, with zxcvbn@4.4.2's verdicts. Check the Go scorer against it with:
//
//	node gen-fuzz.mjs SEED COUNT MAXLEN [OUT]     (OUT defaults to /tmp/zxcvbn-fuzz-SEED.json)
//	WEFTID_STRENGTH_CORPUS=/tmp/zxcvbn-fuzz-SEED.json go test ./auth/strength -run TestCorpus -v
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
const require = createRequire(import.meta.url);
const zxcvbn = require('zxcvbn');
const scoring = require('zxcvbn/lib/scoring.js');
const lists = require('zxcvbn/lib/frequency_lists.js');
const seed = Number(process.argv[2] || 1), count = Number(process.argv[3] || 500), maxLen = Number(process.argv[4] || 60);
const out = process.argv[5] || `/tmp/zxcvbn-fuzz-${seed}.json`;
function prng(seed){let a=seed>>>0;return()=>{a=(a+0x6d2b79f5)>>>0;let t=a;t=Math.imul(t^(t>>>15),t|1);t^=t+Math.imul(t^(t>>>7),t|61);return((t^(t>>>14))>>>0)/4294967296;};}
const r = prng(seed); const pick = (a) => a[Math.floor(r() * a.length)];
const words = [...lists.passwords.slice(0, 2000), ...lists.english_wikipedia.slice(0, 3000), ...lists.female_names.slice(0, 300), ...lists.surnames.slice(0,300), ...lists.us_tv_and_film.slice(0,500), ...lists.male_names.slice(0,200)];
const leet = { a: '4@', b: '8', c: '({[<', e: '3', g: '69', i: '1!|', l: '1|7', o: '0', s: '$5', t: '+7', x: '%', z: '2' };
const pieces = [
  () => pick(words),
  () => pick(words).split('').map(c => leet[c] && r() < 0.6 ? pick(leet[c]) : c).join(''),
  () => pick(words).split('').reverse().join(''),
  () => { const w = pick(words); return w[0].toUpperCase() + w.slice(1); },
  () => pick(words).toUpperCase(),
  () => String(Math.floor(r() * 10000)),
  () => pick(['19', '20', '']) + String(Math.floor(r() * 100)).padStart(2, '0'),
  () => `${1 + Math.floor(r() * 12)}${pick(['/', '-', '.', '', ' ', '_'])}${1 + Math.floor(r() * 31)}${pick(['/', '-', '.', '', ' '])}${pick(['19', '20', ''])}${String(Math.floor(r() * 100)).padStart(2, '0')}`,
  () => pick(['qwerty', 'asdf', 'zxcvbn', '1qaz2wsx', '7894', '159753', 'aoeu', 'qazwsx', '!@#$', 'poiuy', '/*-+', '963.']),
  () => pick(['aaa', 'abab', '111', 'xyzxyz', 'lol', '!!']).repeat(1 + Math.floor(r() * 4)),
  () => pick(['abc', 'xyz', '123', '9876', 'acegi', 'ZYX', '13579']),
  () => pick(['constructor', '__proto__', 'c0nstruct0r', 'rotcurtsnoc', 'C0NSTRUCTOR']),
  () => pick(['İ', 'Σ', 'ß', 'é', '😀', '\u212A', 'ǅ', 'я', 'Ж', '密']),
  () => { let s=''; const n=1+Math.floor(r()*6); for(let i=0;i<n;i++) s+=String.fromCharCode(33+Math.floor(r()*94)); return s; },
  () => pick(['4@8({[<3691!|70$5+%2', '1!|7', '$5', '@4', '|1|']),
  () => pick([' ', '-', '_', '.', '!', '\n', '\t']),
];
const userPool = ['alice', 'alice@example.com', 'Bob', 'jones', 'weftid', 'constructor', 'p@ss', 'Σοφία', 'İlkay', 'x', ''];
const entries = [];
for (let n = 0; n < count; n++) {
  let pw = '';
  const parts = 1 + Math.floor(r() * Math.max(6, maxLen / 6));
  for (let p = 0; p < parts; p++) pw += pick(pieces)();
  pw = pw.slice(0, maxLen);
  const ui = r() < 0.3 ? [...Array(1 + Math.floor(r() * 3))].map(() => pick(userPool)) : [];
  const res = zxcvbn(pw, ui);
  entries.push({ password: pw, user_inputs: ui, source: 'fuzz', score: res.score, guesses: res.guesses, guesses_text: String(res.guesses),
    crack_time: res.crack_times_display.offline_slow_hashing_1e4_per_second, warning: res.feedback.warning, suggestions: res.feedback.suggestions,
    sequence: res.sequence.map(m => `${m.pattern} ${m.i}-${m.j}` + (m.pattern === 'dictionary' ? ` ${m.dictionary_name}${m.l33t ? ' l33t' : ''}${m.reversed ? ' reversed' : ''}` : '')) });
}
writeFileSync(out, JSON.stringify({ zxcvbn: '4.4.2', reference_year: scoring.REFERENCE_YEAR, entries }));
console.log('done', seed, entries.length);
