// Durations and ETAs for people, in one style everywhere (CLI, notifications, panels, report): "0.4 s", "45 s",
// "3.2 min", "1 h 05 min". Browser-safe: no imports, so the webview bundles can use it.

/**
 * Elapsed time: tenths of a second below 10 s ("0.4 s", "9.9 s"), whole seconds below a minute ("45 s"), tenths
 * of a minute below an hour ("1.0 min", "3.2 min"), then hours and zero-padded minutes ("1 h 05 min", "26 h 40 min").
 * Each unit starts where the smaller one would round up to it (59.5 s is "1.0 min", 3597 s is "1 h 00 min").
 * Negative values count as 0 ("0.0 s"); NaN and ±Infinity, which no clock gives, are "—".
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.max(0, seconds);
  const tenths = Math.round(s * 10) / 10;
  if (tenths < 10) return `${tenths.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.round(s / 6) / 10;
  if (minutes < 60) return `${minutes.toFixed(1)} min`;
  const total = Math.round(s / 60);
  return `${Math.floor(total / 60)} h ${String(total % 60).padStart(2, '0')} min`;
}

/**
 * Time left, for a progress line ("12/40 · 45 s left"): rounded up to whole seconds, at least 1 s ("1 s", "59 s"),
 * from a minute on as formatDuration ("1.0 min", "1 h 05 min"). Unknown (null, undefined, NaN, ±Infinity) is "",
 * so callers leave the ETA out; a negative estimate (the work took longer than foreseen) is "1 s".
 */
export function formatEta(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  const whole = Math.max(1, Math.ceil(seconds));
  return whole < 60 ? `${whole} s` : formatDuration(whole);
}
