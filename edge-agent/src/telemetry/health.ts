import { realpath, statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { resolve, sep } from 'node:path';
import si from 'systeminformation';

/** Device health figures, as published in telemetry. */
export interface Health {
  /** Current CPU load, 0..100. */
  cpuLoad: number;
  /** Memory in use that the OS cannot reclaim (total − available). */
  memUsedBytes: number;
  memTotalBytes: number;
  /** Space available to unprivileged users on the filesystem holding the data directory. */
  diskFreeBytes: number;
  /** CPU temperature; null where the platform exposes none. */
  temperatureC: number | null;
}

export type HealthSensor = 'cpu' | 'memory' | 'disk' | 'temperature';
export type SensorErrorHandler = (sensor: HealthSensor, err: unknown) => void;

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Bytes available to unprivileged users on the filesystem holding `dir` (statfs: bavail × bsize). Throws if `dir` cannot be stat'ed. */
export async function freeDiskBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/**
 * Memory the OS can hand out without swapping (systeminformation's `available`).
 * Falls back to Node's `os.freemem()` (a lower bound) if the sensor fails; the error goes to `onError`.
 */
export async function availableMemoryBytes(onError?: SensorErrorHandler): Promise<number> {
  try {
    const m = await si.mem();
    if (isFiniteNumber(m.available) && m.available >= 0) return m.available;
    throw new Error(`unusable available memory figure: ${String(m.available)}`);
  } catch (err) {
    onError?.('memory', err);
    return freemem();
  }
}

/**
 * Reads CPU load, memory, free disk of the filesystem holding `dataDir`, and CPU temperature.
 * Never throws: a failing sensor yields its fallback (0 load, os module memory figures, 0 free disk,
 * null temperature) and the error is passed to `onError`.
 */
export async function readHealth(dataDir: string, onError?: SensorErrorHandler): Promise<Health> {
  const guard = async <T>(sensor: HealthSensor, read: () => Promise<T>, fallback: () => T): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      onError?.(sensor, err);
      return fallback();
    }
  };
  const [cpuLoad, mem, diskFreeBytes, temperatureC] = await Promise.all([
    guard('cpu', readCpuLoad, () => 0),
    guard('memory', readMemory, osMemory),
    guard('disk', () => readDiskFree(dataDir, onError), () => 0),
    guard('temperature', readTemperature, () => null),
  ]);
  return { cpuLoad, memUsedBytes: mem.used, memTotalBytes: mem.total, diskFreeBytes, temperatureC };
}

async function readCpuLoad(): Promise<number> {
  const { currentLoad } = await si.currentLoad();
  if (!isFiniteNumber(currentLoad)) throw new Error(`unusable cpu load figure: ${String(currentLoad)}`);
  return Math.min(100, Math.max(0, currentLoad));
}

async function readMemory(): Promise<{ used: number; total: number }> {
  const m = await si.mem();
  if (!isFiniteNumber(m.total) || m.total <= 0) throw new Error(`unusable memory total: ${String(m.total)}`);
  const used = isFiniteNumber(m.available) ? m.total - m.available : m.used;
  if (!isFiniteNumber(used)) throw new Error('unusable memory used figure');
  return { used: Math.min(m.total, Math.max(0, used)), total: m.total };
}

function osMemory(): { used: number; total: number } {
  const total = totalmem();
  return { used: Math.max(0, total - freemem()), total };
}

/**
 * A real sensor reading, or null: platforms without a sensor report null, NaN or -1 (exactly -1 is
 * systeminformation's "no sensor" value, so it is taken as none), and anything at or below -50 °C is noise.
 */
export function normalizeTemperature(v: unknown): number | null {
  return isFiniteNumber(v) && v > -50 && v !== -1 ? v : null;
}

async function readTemperature(): Promise<number | null> {
  const t = await si.cpuTemperature();
  return normalizeTemperature(t.main) ?? normalizeTemperature(t.max);
}

/** statfs first (exact, cheap); if that fails, the systeminformation mount with the longest matching prefix. */
async function readDiskFree(dataDir: string, onError?: SensorErrorHandler): Promise<number> {
  try {
    return await freeDiskBytes(dataDir);
  } catch (err) {
    onError?.('disk', err);
  }
  const dir = await realpath(dataDir).catch(() => resolve(dataDir));
  const mount = longestMount(await si.fsSize(), dir);
  if (!mount || !isFiniteNumber(mount.available)) throw new Error(`no filesystem found for ${dir}`);
  return Math.max(0, mount.available);
}

/** The entry whose mount point is the longest path prefix of `dir` (path-aware: `/data` does not match `/data2`). */
export function longestMount<T extends { mount: string }>(entries: readonly T[], dir: string): T | undefined {
  let best: T | undefined;
  for (const e of entries) {
    if (!e.mount) continue;
    const prefix = e.mount.endsWith(sep) ? e.mount : e.mount + sep;
    const matches = dir === e.mount || dir.startsWith(prefix);
    if (matches && (!best || e.mount.length > best.mount.length)) best = e;
  }
  return best;
}
