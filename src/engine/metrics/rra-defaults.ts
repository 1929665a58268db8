// Default RRA sample and neighbour counts: the thesis's ch. 5 rule (§5.4, used in §6.2 and after).
//
// What the thesis states: N_neighbours = N_samples / (10 · N_classes) (an NDR of 1/(10·C)); CIFAR10 (10 classes):
// 15 000 class-balanced samples, 150 neighbours; ImageNet64x64-50 (50 classes): 30 000 samples, 60 neighbours; the
// CIFAR10 validation partition: all 10 000 samples, 100 neighbours. The sample count is NOT given as a formula: it
// was chosen where the ID curves stabilised (10 000 samples for CIFAR10, 30 000 for ImageNet64x64-50), so it is a
// per-dataset observation, not a function of C.
//
// Our reading, as a function of the available samples N and the number of classes C:
//  * samples = min(N, cap), cap = 15 000 for C ≤ 10 and 30 000 for C > 10 — the thesis's two choices, the larger
//    one for the dataset with more classes (which the thesis found needs more samples for ID to stabilise);
//  * neighbours = round(samples / (10·C)), clamped to [2, samples − 1]: at least 2 so TwoNN (which needs r1 and r2)
//    can be computed — the thesis replaces a cadence value below 2 by 2 for the same reason (§5.2) — and below
//    samples because a sample is not its own neighbour.
// This reproduces every (samples, neighbours) pair the thesis used: (15 000, 150), (30 000, 60), (10 000, 100).
// The thesis draws the samples class-balanced at random (1 500 per class for CIFAR10) and keeps the same indices for
// all models compared; `perClass` is that balanced count (floor(samples / C)).
import { ReplensError } from '../errors';
import { rng } from '../onnx/builder';

export interface RraDefaults {
  samples: number;
  neighbours: number;
  /** Neighbour density ratio neighbours / samples (thesis eq. 5.1). */
  ndr: number;
  /** Samples per class for a class-balanced subset. */
  perClass: number;
  /** One line saying how the values were chosen, for display. */
  rule: string;
}

export function rraDefaults(available: number, classes: number): RraDefaults {
  if (!Number.isInteger(available) || available < 3)
    throw new ReplensError('E_ARGUMENT', `RRA needs at least 3 samples, got ${available}`);
  if (!Number.isInteger(classes) || classes < 1)
    throw new ReplensError('E_ARGUMENT', `the number of classes must be a positive integer, got ${classes}`);
  const cap = classes <= 10 ? 15000 : 30000;
  const samples = Math.min(available, cap);
  const raw = Math.round(samples / (10 * classes));
  const neighbours = Math.max(2, Math.min(samples - 1, raw));
  return {
    samples,
    neighbours,
    ndr: neighbours / samples,
    perClass: Math.floor(samples / classes),
    rule:
      `samples = min(N = ${available}, ${cap}); neighbours = samples / (10 · ${classes} classes) = ` +
      `${(samples / (10 * classes)).toFixed(2)} → ${neighbours} (rounded, at least 2) (thesis ch. 5)`,
  };
}

/**
 * The thesis's "class balanced random selection" (§4.1): up to `perClass` samples of each class present in
 * `labels`, drawn with a seeded shuffle, returned as ascending sample indices (the same seed gives the same subset,
 * so every compared model sees the same samples in the same order). A class with fewer samples contributes all.
 */
export function balancedSubset(labels: ArrayLike<number>, perClass: number, seed = 0): Int32Array {
  if (!Number.isInteger(perClass) || perClass < 1)
    throw new ReplensError('E_ARGUMENT', `perClass must be a positive integer, got ${perClass}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    if (!Number.isInteger(labels[i]))
      throw new ReplensError('E_ARGUMENT', `labels[${i}] = ${labels[i]} is not an integer class`);
    let list = byClass.get(labels[i]);
    if (!list) byClass.set(labels[i], (list = []));
    list.push(i);
  }
  const random = rng(seed);
  const picked: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(c)!;
    for (let t = idx.length - 1; t > 0; t--) {
      // Fisher–Yates
      const u = Math.floor(random() * (t + 1));
      [idx[t], idx[u]] = [idx[u], idx[t]];
    }
    picked.push(...idx.slice(0, perClass));
  }
  return Int32Array.from(picked.sort((a, b) => a - b));
}
