/**
 * `pnpm eval laundry --data <dir> [--seed N]`: trains the laundry classifier on a stratified 80% of
 * `<dir>/good` + `<dir>/defect`, evaluates the other 20% through the device path (ONNX in
 * onnxruntime + the device's classifyLaundry), prints JSON on stdout; progress goes to stderr.
 */
import { parseArgs } from 'node:util';
import { evaluateLaundryFolder } from '../hub/src/training/laundry/laundry-eval.js';

export class LaundryEvalArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaundryEvalArgsError';
  }
}

export async function runLaundryEval(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { data: { type: 'string' }, seed: { type: 'string' }, epochs: { type: 'string' } } });
  if (!values.data) throw new LaundryEvalArgsError('usage: pnpm eval laundry --data <folder with good/ and defect/> [--seed N] [--epochs N]');
  const seed = values.seed === undefined ? 1 : Number(values.seed);
  if (!Number.isInteger(seed)) throw new LaundryEvalArgsError(`--seed '${values.seed}' is not an integer`);
  const epochs = values.epochs === undefined ? undefined : Number(values.epochs);
  if (epochs !== undefined && !(Number.isInteger(epochs) && epochs > 0)) throw new LaundryEvalArgsError(`--epochs '${values.epochs}' is not a positive integer`);
  const t0 = performance.now();
  const report = await evaluateLaundryFolder(values.data, {
    seed,
    train: {
      ...(epochs !== undefined ? { epochs } : {}),
      onProgress: (p) => process.stderr.write(`laundry epoch ${JSON.stringify(p)} ${((performance.now() - t0) / 1000).toFixed(1)}s\n`),
    },
  });
  const { trainFiles, testFiles, preprocess, ...summary } = report;
  process.stdout.write(`${JSON.stringify({ ...summary, input: `${preprocess.width}x${preprocess.height}x${preprocess.channels}` }, null, 2)}\n`);
}
