// Micro benchmark of the name key (kit's nameKey: NFD, full case folding, NFC) against the key
// before it (NFC + toLowerCase), over 100,000 names of three kinds. Needs a build
// (`npx turbo run build`); `node bench/name-key.mjs` prints a table and writes
// bench/results/name-key.json. Not a test: the numbers depend on the machine and its load.
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { nameKey } from '../services/kit/dist/unicode/case-fold.js';

const N = 100_000;
const ROUNDS = 9;

const legacy = (v) => v.normalize('NFC').toLowerCase();

const FIRST = ['Zoë', 'Jürgen', 'Søren', 'Łukasz', 'Ángel', 'François', 'Çağla', 'Þóra', 'Nguyễn'];
const LAST = ['Straße', 'Müller', 'Ørsted', 'Wałęsa', 'Núñez', 'Lefèvre', 'Öztürk', 'Weiß'];
const SCRIPTS = [
  'ΟΔΥΣΣΕΥΣ',
  'Дмитрий',
  'ᏣᎳᎩ',
  '田中太郎',
  'Zoe\u0308', // NFD input
  'ﬁona',
  'İlknur',
  '𐐀𐐨',
];

const corpora = {
  // What most directories hold: sAMAccountName / uid / UPN-like ASCII.
  ascii: Array.from({ length: N }, (_, i) => `J.Doe${i}@Example.org`),
  // Latin names with accents, ß, Ø…: every name non-ASCII.
  latin: Array.from(
    { length: N },
    (_, i) => `${FIRST[i % FIRST.length]}.${LAST[i % LAST.length]}${i}`,
  ),
  // Greek, Cyrillic, Cherokee, CJK, NFD input, ligatures, astral letters.
  scripts: Array.from({ length: N }, (_, i) => `${SCRIPTS[i % SCRIPTS.length]}${i}`),
};

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn, names) {
  let sink = 0;
  for (const n of names.slice(0, 10_000)) sink += fn(n).length; // warm up
  const samples = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    const t0 = performance.now();
    for (const n of names) sink += fn(n).length;
    samples.push(performance.now() - t0);
  }
  if (sink === 0) throw new Error('unreachable');
  return median(samples);
}

const results = {};
for (const [kind, names] of Object.entries(corpora)) {
  const before = time(legacy, names);
  const after = time(nameKey, names);
  results[kind] = {
    names: N,
    legacyMs: Number(before.toFixed(1)),
    nameKeyMs: Number(after.toFixed(1)),
    nameKeyNsPerName: Math.round((after * 1e6) / N),
  };
}
console.table(results);
writeFileSync(
  new URL('./results/name-key.json', import.meta.url),
  `${JSON.stringify({ at: new Date().toISOString(), node: process.version, rounds: ROUNDS, results }, null, 2)}\n`,
);
