/**
 * Writes a synthetic laundry photo folder for `pnpm eval laundry`: `<out>/good/*.png` and
 * `<out>/defect/*.png` from the seeded generator (hub/src/training/synthetic/laundry.ts).
 *
 *   node --import tsx scripts/make-laundry-data.ts --out <dir> [--count 300] [--seed 1] [--defect-ratio 0.5] [--size 224]
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@edgeloop/shared';
import { encodeImage } from '../hub/src/training/synthetic/encode.js';
import { laundryDataset } from '../hub/src/training/synthetic/laundry.js';

export interface LaundryFolderOptions {
  count: number;
  seed: number;
  defectRatio: number;
  /** Photo side in pixels (square). */
  size: number;
}

export interface LaundryFolderSummary {
  dir: string;
  good: number;
  defect: number;
  /** Relative paths, in generation order. */
  files: string[];
}

export class LaundryDataArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaundryDataArgsError';
  }
}

export async function writeLaundryFolder(dir: string, opts: LaundryFolderOptions): Promise<LaundryFolderSummary> {
  if (!Number.isInteger(opts.count) || opts.count < 2) throw new LaundryDataArgsError(`count ${opts.count} must be an integer ≥ 2`);
  if (!Number.isInteger(opts.size) || opts.size < 16) throw new LaundryDataArgsError(`size ${opts.size} must be an integer ≥ 16`);
  if (!(opts.defectRatio >= 0 && opts.defectRatio <= 1)) throw new LaundryDataArgsError(`defect ratio ${opts.defectRatio} must be in [0, 1]`);
  await mkdir(join(dir, 'good'), { recursive: true });
  await mkdir(join(dir, 'defect'), { recursive: true });
  const data = laundryDataset({ count: opts.count, defectRatio: opts.defectRatio, seed: opts.seed, width: opts.size, height: opts.size });
  const digits = String(opts.count - 1).length;
  const files: string[] = [];
  let good = 0;
  for (const [k, s] of data.entries()) {
    const name = `${String(k).padStart(digits, '0')}-${s.kind}.png`;
    const rel = join(s.label, name);
    await writeFileAtomic(join(dir, rel), await encodeImage(s.pixels, s.width, s.height, 'png'));
    files.push(rel);
    if (s.label === 'good') good++;
  }
  return { dir, good, defect: data.length - good, files };
}

function numberArg(v: string | undefined, name: string, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new LaundryDataArgsError(`--${name} '${v}' is not a number`);
  return n;
}

export async function runMakeLaundryData(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, count: { type: 'string' }, seed: { type: 'string' }, 'defect-ratio': { type: 'string' }, size: { type: 'string' } },
  });
  if (!values.out) throw new LaundryDataArgsError('usage: make-laundry-data --out <dir> [--count 300] [--seed 1] [--defect-ratio 0.5] [--size 224]');
  const summary = await writeLaundryFolder(values.out, {
    count: numberArg(values.count, 'count', 300),
    seed: numberArg(values.seed, 'seed', 1),
    defectRatio: numberArg(values['defect-ratio'], 'defect-ratio', 0.5),
    size: numberArg(values.size, 'size', 224),
  });
  process.stdout.write(`${JSON.stringify({ dir: summary.dir, good: summary.good, defect: summary.defect })}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runMakeLaundryData(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
