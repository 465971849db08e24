import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@edgeloop/shared';
import type { SandboxReport, VerifyJob } from './job.js';

export interface SandboxLimits {
  memoryBytes: number;
  timeoutMs: number;
}

export type SandboxOutcome =
  | { ok: true; report: SandboxReport; seconds: number; peakRssMb: number }
  | { ok: false; failure: 'timeout' | 'memory' | 'crashed'; detail: string; seconds: number; peakRssMb: number };

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'verifier-child.ts');

/** Resident memory of a process in bytes (Linux /proc), null when unknown. */
async function rssOf(pid: number): Promise<number | null> {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Runs the verifier in a child process under a deadline and a memory cap (resident memory polled
 * every 50 ms; over the cap or past the deadline it is SIGKILLed). Whatever the candidate does,
 * the hub only ever sees an outcome.
 */
export async function runSandbox(job: VerifyJob, jobFile: string, limits: SandboxLimits, log: Logger): Promise<SandboxOutcome> {
  await writeFile(jobFile, JSON.stringify(job));
  const tsx = createRequire(import.meta.url).resolve('tsx');
  const heapMb = Math.max(64, Math.floor(limits.memoryBytes / 1e6 / 2));
  const child = spawn(process.execPath, [`--max-old-space-size=${heapMb}`, '--import', tsx, CHILD, jobFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  const t0 = performance.now();
  let peak = 0;
  let killedFor: 'timeout' | 'memory' | null = null;
  const kill = (why: 'timeout' | 'memory') => {
    if (killedFor) return;
    killedFor = why;
    child.kill('SIGKILL');
  };
  const deadline = setTimeout(() => kill('timeout'), limits.timeoutMs);
  const poll = setInterval(() => {
    if (child.pid === undefined) return;
    rssOf(child.pid).then((rss) => {
      if (rss === null) return;
      peak = Math.max(peak, rss);
      if (rss > limits.memoryBytes) kill('memory');
    });
  }, 50);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.on('error', () => resolve({ code: null, signal: null }));
  });
  clearTimeout(deadline);
  clearInterval(poll);
  const seconds = (performance.now() - t0) / 1000;
  const peakRssMb = peak / 1e6;
  if (killedFor === 'timeout') return { ok: false, failure: 'timeout', detail: `no verdict within ${limits.timeoutMs} ms`, seconds, peakRssMb };
  if (killedFor === 'memory') return { ok: false, failure: 'memory', detail: `resident memory passed ${Math.round(limits.memoryBytes / 1e6)} MB`, seconds, peakRssMb };
  if (exit.code !== 0) {
    const detail = `verifier exited with ${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
    log.warn({ detail }, 'sandbox verifier crashed');
    return { ok: false, failure: 'crashed', detail, seconds, peakRssMb };
  }
  try {
    const report = JSON.parse(await readFile(job.out, 'utf8')) as SandboxReport;
    report.perf.peakRssMb = Math.max(report.perf.peakRssMb, peakRssMb);
    return { ok: true, report, seconds, peakRssMb };
  } catch (err) {
    return { ok: false, failure: 'crashed', detail: `verifier left no readable report: ${(err as Error).message}`, seconds, peakRssMb };
  }
}
