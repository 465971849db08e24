import { createHash } from 'node:crypto';
import { seededRandom } from '../seeded-random.js';

export interface LabelledItem {
  /** Content hash of the photo: decides the fixed holdout. */
  sha256: string;
  /** Class (laundry) or identity (faces). */
  label: string;
}

export type Split = 'train' | 'val' | 'holdout';

/** A photo's fixed place in [0, 1): the same in every run, so the holdout never drifts into training. */
export function hashUnit(sha256: string): number {
  return createHash('sha256').update(`holdout:${sha256}`).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Fixed holdout (by content hash: a photo is in it for good, whatever the run) then a seeded,
 * per-label stratified split of the rest into train / validation. `minTrainPerLabel` items of each
 * label always stay out of the holdout (a member with few photos keeps them for training).
 */
export function splitDataset<T extends LabelledItem>(
  items: readonly T[],
  opts: { holdoutFraction: number; valFraction: number; seed: number; minTrainPerLabel?: number; holdoutOnly?: (item: T) => boolean },
): Record<Split, T[]> {
  const byLabel = new Map<string, T[]>();
  for (const it of items) byLabel.set(it.label, [...(byLabel.get(it.label) ?? []), it]);
  const out: Record<Split, T[]> = { train: [], val: [], holdout: [] };
  const rand = seededRandom(opts.seed);
  for (const label of [...byLabel.keys()].sort()) {
    const group = (byLabel.get(label) as T[]).slice().sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
    const eligible = group.filter((it) => hashUnit(it.sha256) < opts.holdoutFraction && (opts.holdoutOnly?.(it) ?? true));
    const keep = Math.max(0, group.length - (opts.minTrainPerLabel ?? 0));
    const holdout = new Set(eligible.slice(0, keep));
    out.holdout.push(...holdout);
    const rest = group.filter((it) => !holdout.has(it));
    for (let i = rest.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [rest[i], rest[j]] = [rest[j] as T, rest[i] as T];
    }
    const nVal = rest.length >= 2 ? Math.max(1, Math.round(rest.length * opts.valFraction)) : 0;
    out.val.push(...rest.slice(0, nVal));
    out.train.push(...rest.slice(nVal));
  }
  return out;
}
