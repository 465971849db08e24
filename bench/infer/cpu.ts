import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

/** Whole-machine busy CPU seconds (Linux /proc/stat); NaN elsewhere. */
function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0] = line.trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq) / 100;
  } catch {
    return Number.NaN;
  }
}

export interface CpuWindow {
  wallS: number;
  /** This process's CPU seconds (all its threads: JS, onnxruntime, sharp/libuv). */
  selfCpuS: number;
  /** CPU seconds the rest of the machine used meanwhile (other processes): disturbance. */
  otherCpuS: number;
  /** Machine busy fraction over the window, 0..1 of all cores. */
  machineBusy: number;
}

/** Starts a CPU accounting window; the returned function closes it. */
export function cpuWindow(): () => CpuWindow {
  const t0 = performance.now();
  const self0 = process.cpuUsage();
  const m0 = machineBusySeconds();
  return () => {
    const wallS = (performance.now() - t0) / 1000;
    const self = process.cpuUsage(self0);
    const selfCpuS = (self.user + self.system) / 1e6;
    const busy = machineBusySeconds() - m0;
    const r = (v: number) => Number(v.toFixed(2));
    return { wallS: r(wallS), selfCpuS: r(selfCpuS), otherCpuS: r(Math.max(0, busy - selfCpuS)), machineBusy: r(busy / (wallS * availableParallelism())) };
  };
}

export const round = (v: number, d = 2): number => Number(v.toFixed(d));

export function stats(values: number[]): { p50: number; p95: number; mean: number } {
  if (values.length === 0) return { p50: 0, p95: 0, mean: 0 };
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
  return { p50: round(at(50)), p95: round(at(95)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}
