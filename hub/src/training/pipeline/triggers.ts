import type { ModelType } from '@edgeloop/shared';
import type { Trigger } from './run-store.js';

export interface TriggerConfig {
  /** Local time of the nightly run, HH:MM. */
  nightlyAt: string;
  /** IANA time zone the nightly time is in. */
  timeZone: string;
  /** How long after the nightly time a due run may still start (a hub that was down catches up within it). */
  nightlyWindowMinutes: number;
  laundry: { minCorrections: number; minDays: number; urgentCorrections: number };
  /** Fewest enrolled members a face training needs. */
  faceMinMembers: number;
}

export interface TriggerState {
  modelType: ModelType;
  now: Date;
  /** A run of this type is running or held. */
  openRun: boolean;
  /** When the last run of this type (any trigger, any outcome) started; null: never. */
  lastRunAt: Date | null;
  /** When the last nightly-scheduled run of this type started. */
  lastNightlyAt: Date | null;
  /** Laundry: corrections confirmed since the last run started. */
  corrections: number;
  /** Faces: members enrolled. */
  members: number;
}

const DAY_MS = 86_400_000;

/**
 * Whether a training run of one model type is due now, and why (pure; the scheduler supplies the
 * clock). Laundry (UC-24): `urgent` as soon as the corrections since the last run reach the urgent
 * threshold; otherwise at the nightly time, when they reach the minimum and the last run is at
 * least `minDays` old. Faces: every night, once there are members to learn. Never while a run of
 * the type is open.
 */
export function dueTrigger(s: TriggerState, cfg: TriggerConfig): Trigger | null {
  if (s.openRun) return null;
  if (s.modelType === 'laundry' && s.corrections >= cfg.laundry.urgentCorrections) return 'urgent';
  const slot = nightlySlot(s.now, cfg.nightlyAt, cfg.timeZone);
  const inWindow = s.now.getTime() - slot.getTime() < cfg.nightlyWindowMinutes * 60_000;
  const nightlyDue = inWindow && (s.lastNightlyAt === null || s.lastNightlyAt.getTime() < slot.getTime());
  if (!nightlyDue) return null;
  if (s.modelType === 'face') return s.members >= cfg.faceMinMembers ? 'nightly' : null;
  const oldEnough = s.lastRunAt === null || s.now.getTime() - s.lastRunAt.getTime() >= cfg.laundry.minDays * DAY_MS;
  return s.corrections >= cfg.laundry.minCorrections && oldEnough ? 'corrections' : null;
}

/** The latest nightly time (HH:MM in `timeZone`) at or before `now`. */
export function nightlySlot(now: Date, hhmm: string, timeZone: string): Date {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  if (!m) throw new RangeError(`nightly time ${hhmm} is not HH:MM`);
  const [y, mo, d] = wallDate(now, timeZone);
  const today = zonedToUtc(y, mo, d, Number(m[1]), Number(m[2]), timeZone);
  if (today.getTime() <= now.getTime()) return today;
  const [y2, mo2, d2] = wallDate(new Date(now.getTime() - DAY_MS), timeZone);
  return zonedToUtc(y2, mo2, d2, Number(m[1]), Number(m[2]), timeZone);
}

/** Year, month, day of `at` on the wall clock of `timeZone`. */
function wallDate(at: Date, timeZone: string): [number, number, number] {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  return [get('year'), get('month'), get('day')];
}

/** Milliseconds `timeZone` is ahead of UTC at `at`. */
function offsetMs(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - Math.floor(at.getTime() / 1000) * 1000;
}

/** The instant the wall clock of `timeZone` shows y-mo-d hh:mm (DST-safe to the hour). */
export function zonedToUtc(y: number, mo: number, d: number, hh: number, mm: number, timeZone: string): Date {
  const guess = Date.UTC(y, mo - 1, d, hh, mm);
  let t = guess - offsetMs(new Date(guess), timeZone);
  t = guess - offsetMs(new Date(t), timeZone);
  return new Date(t);
}
