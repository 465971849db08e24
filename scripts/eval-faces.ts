// `pnpm eval faces --data <dir> [--seed N] [--epochs N]`: trains a face embedder on the enrolled
// photos of a `<dir>/<identity>/<images>` folder and prints the evaluation JSON (stdout); logs go
// to stderr.
import { parseArgs } from 'node:util';
import { createLogger } from '@edgeloop/shared';
import { evaluateFaceFolder } from '../hub/src/training/faces/face-eval.js';

export async function runFaceEval(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      seed: { type: 'string' },
      epochs: { type: 'string' },
      'log-level': { type: 'string' },
    },
    strict: true,
  });
  if (values.data === undefined) throw new Error('usage: eval faces --data <dir> [--seed N] [--epochs N]');
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
    return n;
  };
  const log = createLogger({ name: 'eval-faces', level: values['log-level'] ?? 'info', destination: process.stderr });
  const epochs = num(values.epochs, 'epochs');
  const report = await evaluateFaceFolder(values.data, {
    seed: num(values.seed, 'seed') ?? 1,
    log,
    train: epochs === undefined ? {} : { epochs },
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}
