/**
 * Writes the demo directory files:
 *   infra/demo/demo.ldif            the directory (slapadd -q ready, memberOf included)
 *   infra/demo/demo-directory.json  the directory definition the demo registers
 *   infra/demo/demo-expected.json   what importing it must produce (scope, special cases)
 *
 * Usage: node infra/testkit/dist/demo/generate-demo.js [--out DIR] [--check]
 * `--check` writes nothing and exits 1 when the committed files differ from a fresh generation.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { REPO_ROOT } from '../paths.js';
import { DEMO_DIRECTORY, buildDemo } from './demo-data.js';

interface PrettierLike {
  format(text: string, options: Record<string, unknown>): Promise<string>;
  resolveConfig(file: string): Promise<Record<string, unknown> | null>;
}

/**
 * JSON as the repository's prettier would format it (so `prettier --check .` passes), or plain
 * 2-space JSON when prettier is not installed (it is a root devDependency, not ours).
 */
async function formatJson(value: unknown, file: string): Promise<string> {
  const text = JSON.stringify(value, null, 2) + '\n';
  const specifier = 'prettier';
  try {
    const prettier = (await import(specifier)) as PrettierLike;
    const config = (await prettier.resolveConfig(file)) ?? {};
    return await prettier.format(text, { ...config, parser: 'json' });
  } catch {
    return text;
  }
}

async function main(argv: string[]): Promise<number> {
  let out = resolve(REPO_ROOT, 'infra/demo');
  let check = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') out = resolve(argv[++i] ?? '.');
    else if (a === '--check') check = true;
    else {
      console.error(`usage: generate-demo [--out DIR] [--check]`);
      return 2;
    }
  }
  const demo = buildDemo();
  const files: [string, string][] = [
    ['demo.ldif', demo.ldif],
    ['demo-directory.json', await formatJson(DEMO_DIRECTORY, join(out, 'demo-directory.json'))],
    ['demo-expected.json', await formatJson(demo.expected, join(out, 'demo-expected.json'))],
  ];
  if (check) {
    // JSON is compared by value (its layout depends on whether prettier is installed)
    const same = (name: string, a: string, b: string) =>
      name.endsWith('.json')
        ? JSON.stringify(JSON.parse(a)) === JSON.stringify(JSON.parse(b))
        : a === b;
    const stale = files.filter(([name, text]) => {
      try {
        return !same(name, readFileSync(join(out, name), 'utf8'), text);
      } catch {
        return true;
      }
    });
    for (const [name] of stale)
      console.error(`${join(out, name)} is not what the generator produces`);
    return stale.length ? 1 : 0;
  }
  mkdirSync(out, { recursive: true });
  for (const [name, text] of files) writeFileSync(join(out, name), text);
  const e = demo.expected;
  console.log(
    `demo: ${e.people} people, ${e.groups} groups; in scope ${e.inScope.entries} entries, ` +
      `${e.inScope.importable} importable users → ${out}`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
