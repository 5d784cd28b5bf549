/**
 * The one way tsgrad prints a duration (training ETAs in `fit`, the repro progress bar).
 */

/**
 * Seconds as "1h02m", "3m05s" or "42s" (rounded to the second); "?" for a negative or
 * non-finite value (an ETA that cannot be estimated yet).
 * @example formatDuration(185) // '3m05s'
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}
