/**
 * Every TypeScript snippet in the READMEs is a tested example: each ```ts block is
 * written to `.snippets/` at the repository root (gitignored) and run with tsx, so a
 * snippet that stops compiling or throws fails `pnpm test`. A block whose info string
 * says `ts no-run` is only shown (keep those rare, and say why beside them).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(import.meta.dirname, '..', '..');
const outDir = join(root, '.snippets');

/** The README files a user reads: the root one and one per package or top-level folder. */
function readmes(): string[] {
  const found = [join(root, 'README.md')];
  for (const parent of ['packages', '.']) {
    for (const entry of readdirSync(join(root, parent), { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.') || entry.name === 'node_modules' || entry.name === 'packages') continue;
      const file = join(root, parent, entry.name, 'README.md');
      if (existsSync(file)) found.push(file);
    }
  }
  return found;
}

interface Snippet {
  file: string;
  line: number;
  code: string;
}

/** The ```ts blocks of a markdown file, with the line each starts on. */
export function extractSnippets(file: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(ts|typescript)(\s+no-run)?\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
    if (open[2] === undefined) snippets.push({ file, line: start + 1, code: body.join('\n') });
  }
  return snippets;
}

test('the snippet extractor finds ts blocks and skips no-run and other languages', () => {
  const md = ['# t', '```ts', 'a();', '```', '```sh', 'ls', '```', '```ts no-run', 'b();', '```', '```ts', 'c();', '```'].join('\n');
  const found = extractSnippets('x.md', md);
  assert.equal(
    found.map((s) => [s.line, s.code]),
    [
      [2, 'a();'],
      [11, 'c();'],
    ],
  );
});

rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
for (const file of readmes()) {
  const rel = relative(root, file);
  for (const snippet of extractSnippets(file, readFileSync(file, 'utf8'))) {
    test(`${rel}:${snippet.line} runs`, () => {
      const name = `${rel.replace(/[^A-Za-z0-9]+/g, '-')}-${snippet.line}.ts`;
      const path = join(outDir, name);
      writeFileSync(path, `${snippet.code}\n`);
      const run = spawnSync(process.execPath, ['--import', 'tsx', path], { cwd: root, encoding: 'utf8', timeout: 120_000 });
      const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
      assert.ok(run.status === 0, `${rel}:${snippet.line} exited with ${run.status ?? run.signal}:\n${output.slice(-2000)}`);
    });
  }
}

test.run();
