/**
 * Module-name matching with PEFT's semantics, so a config written here selects the
 * same layers when PEFT reads it.
 *
 * - `target_modules` as a list: a module matches when its dotted name equals an entry
 *   or ends with `.` + entry (`'q_proj'` matches `blocks.0.attn.q_proj`).
 * - `target_modules` as a string: a regular expression that must match the whole name.
 * - `rank_pattern` / `alpha_pattern` keys: the first key (in insertion order) for which
 *   the regex `(.*\.)?(key)$` matches the start of the name wins (PEFT's
 *   `get_pattern_key`).
 */

/** PEFT's `target_modules`: a list of name suffixes or one full-match regex. */
export type TargetModules = readonly string[] | string;

/**
 * Whether a module name is selected by `targetModules`.
 * @example matchesTarget('blocks.0.attn.q_proj', ['q_proj', 'v_proj']) // true
 * @example matchesTarget('blocks.0.fc1', '.*\\.fc[12]') // true
 */
export function matchesTarget(name: string, targetModules: TargetModules): boolean {
  if (typeof targetModules === 'string') return new RegExp(`^(?:${targetModules})$`).test(name);
  return targetModules.some((t) => name === t || name.endsWith(`.${t}`));
}

/**
 * The key of `pattern` that applies to `name`, or undefined.
 * @example patternKey({ 'attn.q_proj': 4 }, 'blocks.1.attn.q_proj') // 'attn.q_proj'
 */
export function patternKey(pattern: Readonly<Record<string, number>>, name: string): string | undefined {
  for (const key of Object.keys(pattern)) {
    if (new RegExp(`^(.*\\.)?(${key})$`).test(name)) return key;
  }
  return undefined;
}

/**
 * The value of `pattern` for `name`, or `fallback` when no key applies.
 * @example patternValue({ lm_head: 16 }, 'lm_head', 8) // 16
 */
export function patternValue(pattern: Readonly<Record<string, number>> | undefined, name: string, fallback: number): number {
  if (!pattern) return fallback;
  const k = patternKey(pattern, name);
  return k === undefined ? fallback : pattern[k]!;
}
