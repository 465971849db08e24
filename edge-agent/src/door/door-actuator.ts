import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { errorMessage, type Logger } from '@edgeloop/shared';
import type { DoorConfig } from '../config/schema.js';

export interface DoorOpening {
  memberId: string;
  deviceId: string;
  score: number;
  at: string;
}

/** Whatever physically opens the door. `open` resolves once the door was told to open, and throws if it could not be. */
export interface DoorActuator {
  readonly kind: DoorConfig['actuator'];
  open(o: DoorOpening): Promise<void>;
  close(): Promise<void>;
}

/** Builds the actuator the config names. */
export function buildDoorActuator(cfg: DoorConfig, log: Logger): DoorActuator {
  switch (cfg.actuator) {
    case 'command':
      return new CommandActuator(cfg.command, cfg.args, cfg.timeoutMs);
    case 'http':
      return new HttpActuator(cfg.url, cfg.method, cfg.timeoutMs);
    case 'gpio':
      return new GpioActuator(cfg.gpioValuePath, cfg.activeHigh, cfg.pulseMs, log);
    default:
      return { kind: 'none', open: async () => {}, close: async () => {} };
  }
}

/** Runs a program (a relay tool, a vendor CLI); a non-zero exit or a timeout is a failure. */
export class CommandActuator implements DoorActuator {
  readonly kind = 'command' as const;
  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly timeoutMs: number,
  ) {}

  open(o: DoorOpening): Promise<void> {
    const env = { ...process.env, EDGELOOP_MEMBER_ID: o.memberId, EDGELOOP_DEVICE_ID: o.deviceId, EDGELOOP_SCORE: String(o.score), EDGELOOP_AT: o.at };
    return new Promise((resolve, reject) => {
      execFile(this.command, [...this.args], { env, timeout: this.timeoutMs, killSignal: 'SIGKILL' }, (err, _out, stderr) => {
        if (err) reject(new Error(`door command failed: ${errorMessage(err)}${stderr ? ` (${String(stderr).trim().slice(0, 200)})` : ''}`));
        else resolve();
      });
    });
  }

  async close(): Promise<void> {}
}

/** Calls the door controller's HTTP endpoint; anything but a 2xx is a failure. */
export class HttpActuator implements DoorActuator {
  readonly kind = 'http' as const;
  constructor(
    private readonly url: string,
    private readonly method: 'POST' | 'PUT',
    private readonly timeoutMs: number,
  ) {}

  async open(o: DoorOpening): Promise<void> {
    const res = await fetch(this.url, {
      method: this.method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(o),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`door controller answered HTTP ${res.status}`);
  }

  async close(): Promise<void> {}
}

/**
 * Drives a GPIO line through its sysfs `value` file: active for `pulseMs`, then back. A newer
 * opening while the line is active extends the pulse; `close` releases the line at once.
 */
export class GpioActuator implements DoorActuator {
  readonly kind = 'gpio' as const;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly valuePath: string,
    private readonly activeHigh: boolean,
    private readonly pulseMs: number,
    private readonly log: Logger,
  ) {}

  async open(_o: DoorOpening): Promise<void> {
    await writeFile(this.valuePath, this.activeHigh ? '1' : '0');
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.release().catch((err) => this.log.error({ err: errorMessage(err), path: this.valuePath }, 'door GPIO could not be released'));
    }, this.pulseMs);
  }

  private release(): Promise<void> {
    return writeFile(this.valuePath, this.activeHigh ? '0' : '1');
  }

  async close(): Promise<void> {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = null;
    await this.release();
  }
}
