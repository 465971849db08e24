import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ProgressRecord } from './run-store.js';

const ENTRY = join(dirname(fileURLToPath(import.meta.url)), 'stage-worker.ts');

export interface WorkerTask {
  kind: string;
  [key: string]: unknown;
}

/** Messages from the worker child over its IPC channel. */
export type WorkerMessage =
  | { type: 'progress'; progress: Omit<ProgressRecord, 'at'> }
  | { type: 'done'; output: Record<string, unknown> }
  | { type: 'failed'; error: string };

/**
 * Runs one heavy stage (training, export) in a child process, so that the hub's event loop (broker,
 * HTTP) never waits on it and a crash in it is only a failed attempt. The child dies with the hub:
 * it exits when its IPC channel closes.
 */
export function runWorker(
  task: WorkerTask,
  opts: { onProgress?: (p: Omit<ProgressRecord, 'at'>) => void; signal?: AbortSignal; timeoutMs?: number; env?: NodeJS.ProcessEnv },
): Promise<Record<string, unknown>> {
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, ENTRY], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: opts.env ?? process.env });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let result: Record<string, unknown> | null = null;
    let failure: string | null = null;
    const stop = (why: string) => {
      failure ??= why;
      child.kill('SIGKILL');
    };
    const timer = opts.timeoutMs ? setTimeout(() => stop(`worker ${task.kind} took longer than ${opts.timeoutMs} ms`), opts.timeoutMs) : null;
    const onAbort = () => stop('aborted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'progress') opts.onProgress?.(m.progress);
      else if (m.type === 'done') result = m.output;
      else if (m.type === 'failed') failure ??= m.error;
    });
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (result && code === 0) resolve(result);
      else reject(new Error(failure ?? `worker ${task.kind} exited with ${signal ? `signal ${signal}` : `code ${code}`}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`));
    });
    child.on('error', (err) => reject(err));
    child.send(task);
  });
}
