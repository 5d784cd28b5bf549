/**
 * A character-level tokenizer: one id per Unicode code point (not per UTF-16 unit, so
 * an emoji is one token), ids in code-point order of the vocabulary.
 *
 * Unknown characters (not in the vocabulary) follow one documented policy:
 *   - 'error' (default): `encode` throws, naming the character and its position;
 *   - 'skip': they are dropped;
 *   - 'replace': they become the id of `unkChar` (default U+FFFD), which is then part of
 *     the vocabulary (appended as the last id if the charset lacks it).
 */

export type UnknownCharPolicy = 'error' | 'skip' | 'replace';

export interface CharTokenizerOptions {
  unknown?: UnknownCharPolicy;
  /** The stand-in for unknown characters under 'replace' (one code point). */
  unkChar?: string;
  /** Keep the charset's own order as the ids instead of sorting by code point (used by `fromJSON`). */
  keepOrder?: boolean;
}

export class CharTokenizer {
  /** id -> character. */
  readonly chars: readonly string[];
  readonly unknown: UnknownCharPolicy;
  readonly unkChar: string;
  private readonly ids: Map<string, number>;

  /**
   * A tokenizer over a fixed charset (a string or list of characters; duplicates are ignored).
   * @example new CharTokenizer('abc\n').encode('cab') // Int32Array [3, 1, 2]  ('\n' sorts first)
   */
  constructor(charset: string | Iterable<string>, options: CharTokenizerOptions = {}) {
    const { unknown = 'error', unkChar = '\uFFFD', keepOrder = false } = options;
    if ([...unkChar].length !== 1) throw new Error(`CharTokenizer: unkChar must be one character, got ${JSON.stringify(unkChar)}`);
    const set = new Set<string>();
    for (const item of typeof charset === 'string' ? [charset] : charset) for (const c of item) set.add(c);
    const chars = keepOrder ? [...set] : [...set].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    if (unknown === 'replace' && !set.has(unkChar)) chars.push(unkChar);
    this.chars = Object.freeze(chars);
    this.unknown = unknown;
    this.unkChar = unkChar;
    this.ids = new Map(chars.map((c, i) => [c, i]));
  }

  /**
   * The vocabulary of a text: every distinct character in it.
   * @example CharTokenizer.fromText('hello').vocabSize // 4
   */
  static fromText(text: string, options: CharTokenizerOptions = {}): CharTokenizer {
    return new CharTokenizer(text, options);
  }

  get vocabSize(): number {
    return this.chars.length;
  }

  /** The id of one character, or undefined when it is not in the vocabulary. */
  idOf(char: string): number | undefined {
    return this.ids.get(char);
  }

  /** Text to ids (int32), applying the unknown-character policy. */
  encode(text: string): Int32Array {
    const out = new Int32Array(text.length); // code points <= UTF-16 units
    let n = 0;
    let pos = 0;
    for (const c of text) {
      const id = this.ids.get(c);
      if (id !== undefined) out[n++] = id;
      else if (this.unknown === 'replace') out[n++] = this.ids.get(this.unkChar)!;
      else if (this.unknown === 'error') {
        const cp = c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
        throw new Error(`CharTokenizer.encode: character ${JSON.stringify(c)} (U+${cp}) at position ${pos} is not in the vocabulary of ${this.vocabSize}`);
      }
      pos++;
    }
    return out.slice(0, n);
  }

  /** Ids back to text; an id outside the vocabulary throws. */
  decode(ids: ArrayLike<number>): string {
    let s = '';
    for (let i = 0; i < ids.length; i++) {
      const c = this.chars[ids[i]!];
      if (c === undefined) throw new RangeError(`CharTokenizer.decode: id ${ids[i]} at position ${i} is outside the vocabulary of ${this.vocabSize}`);
      s += c;
    }
    return s;
  }

  /** A JSON-safe description; `CharTokenizer.fromJSON` rebuilds the same tokenizer. */
  toJSON(): { chars: string[]; unknown: UnknownCharPolicy; unkChar: string } {
    return { chars: [...this.chars], unknown: this.unknown, unkChar: this.unkChar };
  }

  static fromJSON(json: { chars: string[]; unknown?: UnknownCharPolicy; unkChar?: string }): CharTokenizer {
    return new CharTokenizer(json.chars, { unknown: json.unknown, unkChar: json.unkChar, keepOrder: true });
  }
}
