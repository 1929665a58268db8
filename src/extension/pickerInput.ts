// What the analyze flow's input boxes accept (pure: no vscode), so the rules are tested without an editor.

/** Why a samples entry is refused (null when it is fine): a whole number ≥ 4, at most what the dataset holds. */
export function samplesProblem(s: string, holds?: number): string | null {
  const t = s.trim();
  if (t === 'all' && holds !== undefined) return null;
  if (!/^\d+$/.test(t) || Number(t) < 4) return 'a whole number ≥ 4';
  if (holds !== undefined && Number(t) > holds)
    return `the dataset holds ${holds} samples; at most ${holds} (or "all")`;
  return null;
}

/** "0.2, 0.1,0.01" → [0.2, 0.1, 0.01]; null unless every entry is a number ≥ 0. */
export function parseSigmas(s: string): number[] | null {
  const parts = s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  const v = parts.map(Number);
  return v.length && v.every((x) => Number.isFinite(x) && x >= 0) ? v : null;
}
