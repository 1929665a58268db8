// Number and shape formatting shared by the panels and the charts (pure; no DOM).

type Dim = number | string | null;

/** 1234567 → "1,234,567". */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** 1234567 → "1.23M"; below 1000 the number itself. */
export function formatCompact(n: number): string {
  const units: [number, string][] = [
    [1e12, 'T'],
    [1e9, 'G'],
    [1e6, 'M'],
    [1e3, 'k'],
  ];
  for (const [u, s] of units) {
    if (Math.abs(n) >= u) {
      const x = n / u;
      return (
        `${x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2)}`.replace(/\.0+$|(\.\d*?)0+$/, '$1') + s
      );
    }
  }
  return String(Math.round(n));
}

/** [N, 3, 32, 32] → "N×3×32×32"; unknown dims are "?", an unknown shape is "?". */
export function formatShape(shape: readonly Dim[] | null | undefined): string {
  if (!shape) return '?';
  if (shape.length === 0) return 'scalar';
  return shape.map((d) => (d === null || d === '' ? '?' : String(d))).join('×');
}

/** 1536 → "1.5 KB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let x = n / 1024,
    i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x >= 100 ? x.toFixed(0) : x.toFixed(1)} ${units[i]}`;
}

/** Shortens `s` to at most `max` characters by cutting the middle ("layer1…conv1"). */
export function middleEllipsis(s: string, max: number): string {
  if (s.length <= max) return s;
  const keep = max - 1;
  const head = Math.ceil(keep / 2);
  return s.slice(0, head) + '…' + s.slice(s.length - (keep - head));
}

/** The file name of a POSIX or Windows path. */
export function baseName(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}
