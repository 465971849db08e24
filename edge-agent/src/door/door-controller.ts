import { errorMessage, type Logger } from '@edgeloop/shared';
import type { FaceDecision } from '../inference/face-pipeline.js';
import type { DoorActuator } from './door-actuator.js';

export interface AccessRecord {
  decision: 'member' | 'stranger';
  memberId: string | null;
  score: number | null;
  threshold: number;
  faces: number;
  doorOpened: boolean;
  /** Why a member decision did not open the door (actuator failure, hold-off). */
  note?: string;
}

/**
 * Acts on face decisions: a member opens the door (once per `holdOffMs` for the same member, so a
 * person standing at the door is not re-admitted every frame) and every member or stranger decision
 * becomes a durable access event. A stranger or no face never reaches the actuator.
 */
export class DoorController {
  private readonly lastOpened = new Map<string, number>();

  constructor(
    private readonly o: {
      deviceId: string;
      actuator: DoorActuator;
      holdOffMs: number;
      record: (version: number, access: AccessRecord) => void;
      log: Logger;
      now?: () => number;
    },
  ) {}

  /** Returns whether the door was opened. Never throws: a failing actuator is logged and recorded. */
  async onDecision(version: number, d: FaceDecision): Promise<boolean> {
    if (d.decision === 'no-face') return false;
    const base = { decision: d.decision, memberId: d.memberId, score: d.score, threshold: d.threshold, faces: d.faces.length };
    if (d.decision !== 'member' || d.memberId === null || d.score === null) {
      this.o.record(version, { ...base, doorOpened: false });
      return false;
    }
    const now = this.o.now?.() ?? Date.now();
    const last = this.lastOpened.get(d.memberId);
    if (last !== undefined && now - last < this.o.holdOffMs) return false; // the same visit: already admitted and recorded
    this.lastOpened.set(d.memberId, now);
    this.prune(now);
    try {
      await this.o.actuator.open({ memberId: d.memberId, deviceId: this.o.deviceId, score: d.score, at: new Date(now).toISOString() });
      this.o.record(version, { ...base, doorOpened: true });
      return true;
    } catch (err) {
      this.lastOpened.delete(d.memberId);
      this.o.log.error({ err: errorMessage(err), actuator: this.o.actuator.kind, memberId: d.memberId }, 'door did not open');
      this.o.record(version, { ...base, doorOpened: false, note: `actuator failed: ${errorMessage(err)}` });
      return false;
    }
  }

  private prune(now: number): void {
    if (this.lastOpened.size < 1000) return;
    for (const [id, t] of this.lastOpened) if (now - t >= this.o.holdOffMs) this.lastOpened.delete(id);
  }

  close(): Promise<void> {
    return this.o.actuator.close();
  }
}
