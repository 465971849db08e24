import { AsyncLocalStorage } from 'node:async_hooks';
import { ConflictError, errorMessage, type Logger, MODEL_TYPE_OF_ROLE, type ModelType, NotFoundError } from '@edgeloop/shared';
import type { HubEvents } from '../events/hub-events.js';
import type { FleetService } from '../fleet/fleet-service.js';
import type { ModelRegistry } from '../registry/model-registry.js';
import type { Db } from '../store/db.js';
import { type GroupFigures, judgeRollout, type RolloutThresholds, selectCanary } from './canary-policy.js';
import { canarySignals } from './rollout-signals.js';
import type { RolloutService } from './rollout-service.js';

export interface RolloutView {
  id: number;
  modelType: ModelType;
  version: number;
  previousVersion: number | null;
  status: 'canary' | 'promoted' | 'aborted';
  reason: string;
  canary: string[];
  control: string[];
  thresholds: RolloutThresholds;
  figures: { canary: GroupFigures; control: GroupFigures } | null;
  startedAt: string;
  endedAt: string | null;
}

interface RolloutRow {
  id: number;
  model_type: ModelType;
  version: number;
  previous_version: number | null;
  status: RolloutView['status'];
  reason: string;
  canary_json: string;
  control_json: string;
  config_json: string;
  figures_json: string | null;
  started_at: string;
  ended_at: string | null;
}

/**
 * Canary rollouts that decide by themselves: a new version goes to a canary group (under 10% of the
 * role's online devices, spread across branches); the canary is compared with the control group
 * until the window ends, then promoted to all, or aborted with a signed rollback. Every decision
 * is a hub event. Rollouts survive a hub restart.
 */
export class RolloutManager {
  private timer: NodeJS.Timeout | null = null;
  private checking = false;
  private lock: Promise<unknown> = Promise.resolve();
  /** Set inside `exclusive` for the calls it makes (an async context, not a flag another caller could see). */
  private readonly inLock = new AsyncLocalStorage<true>();

  constructor(
    private readonly d: {
      db: Db;
      fleet: FleetService;
      registry: ModelRegistry;
      rollout: RolloutService;
      events: HubEvents;
      log: Logger;
      defaults: RolloutThresholds;
      canaryFraction: number;
      checkIntervalMs: number;
      now?: () => Date;
    },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      // One check at a time: a slow deploy must not let a second check promote or abort again.
      if (this.checking) return;
      this.checking = true;
      this.tick()
        .catch((err) => this.d.log.error({ err: errorMessage(err) }, 'rollout check failed'))
        .finally(() => {
          this.checking = false;
        });
    }, this.d.checkIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Runs `fn` with no other rollout change in between: begin, promote, abort, rollback, retarget and
   * the periodic check all go through here, one at a time, so none acts on a state another one is
   * changing (a promote and a member change's retarget, an admin's abort and an automatic promote).
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(() => this.inLock.run(true, fn));
    this.lock = run.catch(() => undefined);
    return run;
  }

  begin(modelType: ModelType, version: number, overrides: Partial<RolloutThresholds> = {}): Promise<RolloutView> {
    return this.exclusive(() => this.beginNow(modelType, version, overrides));
  }

  promote(id: number, reason: string): Promise<RolloutView> {
    return this.exclusive(() => this.promoteNow(id, reason));
  }

  abort(id: number, reason: string): Promise<RolloutView> {
    return this.exclusive(() => this.abortNow(id, reason));
  }

  /** Fleet-wide signed rollback to an older version (manual). */
  rollbackTo(modelType: ModelType, version: number): Promise<string[]> {
    return this.exclusive(() => this.rollbackNow(modelType, version));
  }

  /** One evaluation of every running rollout. */
  tick(): Promise<void> {
    return this.exclusive(() => this.tickNow());
  }

  /** Abort, for a caller inside `exclusive`. */
  abortHeld(id: number, reason: string): Promise<RolloutView> {
    this.mustHold('abortHeld');
    return this.abortNow(id, reason);
  }

  private mustHold(what: string): void {
    if (this.inLock.getStore() !== true) throw new Error(`RolloutManager.${what} must run inside exclusive()`);
  }

  private async beginNow(modelType: ModelType, version: number, overrides: Partial<RolloutThresholds>): Promise<RolloutView> {
    if (this.activeFor(modelType)) throw new ConflictError(`a ${modelType} rollout is already running`);
    const rec = this.d.registry.get(modelType, version);
    if (rec.status === 'rejected' || rec.status === 'rolled-back') throw new ConflictError(`v${version} is ${rec.status}`);
    const previous = this.d.registry.active(modelType);
    if (previous && previous.version === version) throw new ConflictError(`v${version} is already active`);
    const online = this.d.fleet
      .list()
      .filter((d) => MODEL_TYPE_OF_ROLE[d.role] === modelType && d.status === 'online' && !d.revoked)
      .map((d) => ({ id: d.id, branch: d.branch }));
    if (online.length === 0) throw new ConflictError(`no online ${modelType} devices to canary on`);
    const { canary, control } = selectCanary(online, this.d.canaryFraction);
    const thresholds = { ...this.d.defaults, ...overrides };
    const res = this.d.db
      .prepare(
        `INSERT INTO rollouts (model_type, version, previous_version, status, canary_json, control_json, config_json, started_at)
         VALUES (?, ?, ?, 'canary', ?, ?, ?, ?)`,
      )
      .run(modelType, version, previous?.version ?? null, JSON.stringify(canary), JSON.stringify(control), JSON.stringify(thresholds), this.now().toISOString());
    this.d.registry.setStatus(modelType, version, 'canary');
    for (const id of canary) await this.d.fleet.setDesiredModel(id, modelType, rec.signed);
    const id = Number(res.lastInsertRowid);
    this.d.events.record('RolloutStarted', modelType, version, { rolloutId: id, canary, control: control.length, previous: previous?.version ?? null });
    this.d.events.record('ModelDeployed', modelType, version, { rolloutId: id, group: 'canary', devices: canary });
    return this.get(id);
  }

  private async promoteNow(id: number, reason: string): Promise<RolloutView> {
    const r = this.running(id);
    this.d.registry.setStatus(r.modelType, r.version, 'active');
    const devices = await this.d.rollout.deploy(r.modelType, r.version);
    this.finish(id, 'promoted', reason);
    this.d.events.record('RolloutPromoted', r.modelType, r.version, { rolloutId: id, reason });
    this.d.events.record('ModelDeployed', r.modelType, r.version, { rolloutId: id, group: 'all', devices: devices.length });
    return this.get(id);
  }

  private async abortNow(id: number, reason: string): Promise<RolloutView> {
    const r = this.running(id);
    // Back to what the rest of the fleet runs: the version in service, which may have moved on since
    // the start (a face gallery refreshed for a member change), else the version the rollout replaced.
    const back = this.d.registry.active(r.modelType)?.version ?? r.previousVersion;
    if (back !== null) await this.d.rollout.deploy(r.modelType, back, r.canary, true);
    this.d.registry.setStatus(r.modelType, r.version, 'rolled-back');
    this.finish(id, 'aborted', reason);
    this.d.events.record('RolloutAborted', r.modelType, r.version, { rolloutId: id, reason });
    this.d.events.record('ModelRolledBack', r.modelType, r.version, { rolloutId: id, to: back, devices: r.canary });
    return this.get(id);
  }

  /**
   * Moves a running rollout to a rebuilt candidate (the same networks with a gallery of today's
   * members): the canary devices get it, the superseded candidate is retired, and the observation
   * starts again, since the canary now runs a new version. For a caller inside `exclusive`.
   */
  async retargetHeld(id: number, version: number, reason: string): Promise<RolloutView> {
    this.mustHold('retargetHeld');
    const r = this.running(id);
    const rec = this.d.registry.get(r.modelType, version);
    this.d.db.prepare('UPDATE rollouts SET version = ?, figures_json = NULL, started_at = ? WHERE id = ?').run(version, this.now().toISOString(), id);
    this.d.registry.setStatus(r.modelType, r.version, 'retired');
    this.d.registry.setStatus(r.modelType, version, 'canary');
    for (const dev of r.canary) await this.d.fleet.setDesiredModel(dev, r.modelType, rec.signed);
    this.d.events.record('ModelDeployed', r.modelType, version, { rolloutId: id, group: 'canary', devices: r.canary, replaces: r.version, reason });
    return this.get(id);
  }

  /** The running rollout of a model type, if any. */
  runningFor(modelType: ModelType): RolloutView | null {
    return this.activeFor(modelType);
  }

  private async rollbackNow(modelType: ModelType, version: number): Promise<string[]> {
    const running = this.activeFor(modelType);
    if (running) await this.abortNow(running.id, 'manual rollback');
    const from = this.d.registry.active(modelType)?.version ?? null;
    this.d.registry.setStatus(modelType, version, 'active');
    const devices = await this.d.rollout.deploy(modelType, version, undefined, true);
    this.d.events.record('ModelRolledBack', modelType, from, { to: version, devices: devices.length, manual: true });
    return devices;
  }

  private async tickNow(): Promise<void> {
    const rows = this.d.db.prepare("SELECT * FROM rollouts WHERE status = 'canary'").all() as RolloutRow[];
    for (const row of rows) {
      const r = toView(row);
      const since = r.startedAt;
      const { figures, notReported, rolledBack } = canarySignals(this.d.db, this.d.fleet, r.modelType, r.version, r.canary, r.control, since);
      this.d.db.prepare('UPDATE rollouts SET figures_json = ? WHERE id = ?').run(JSON.stringify(figures), r.id);
      const verdict = judgeRollout({ ...figures, elapsedMs: this.now().getTime() - Date.parse(since), notReported, rolledBack, t: r.thresholds });
      if (verdict.kind === 'promote') await this.promoteNow(r.id, verdict.reason);
      else if (verdict.kind === 'abort') await this.abortNow(r.id, verdict.reason);
    }
  }

  list(): RolloutView[] {
    return (this.d.db.prepare('SELECT * FROM rollouts ORDER BY id DESC').all() as RolloutRow[]).map(toView);
  }

  get(id: number): RolloutView {
    const row = this.d.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as RolloutRow | undefined;
    if (!row) throw new NotFoundError(`no rollout ${id}`);
    return toView(row);
  }

  private activeFor(modelType: ModelType): RolloutView | null {
    const row = this.d.db.prepare("SELECT * FROM rollouts WHERE model_type = ? AND status = 'canary'").get(modelType) as RolloutRow | undefined;
    return row ? toView(row) : null;
  }

  private running(id: number): RolloutView {
    const r = this.get(id);
    if (r.status !== 'canary') throw new ConflictError(`rollout ${id} is already ${r.status}`);
    return r;
  }

  private finish(id: number, status: 'promoted' | 'aborted', reason: string): void {
    this.d.db.prepare('UPDATE rollouts SET status = ?, reason = ?, ended_at = ? WHERE id = ?').run(status, reason, this.now().toISOString(), id);
    this.d.log.info({ rolloutId: id, status, reason }, 'rollout ended');
  }

  /** A group's live figures: inference telemetry on `version` (or each device's own version) and laundry corrections. */
  private now(): Date {
    return this.d.now?.() ?? new Date();
  }
}

function toView(r: RolloutRow): RolloutView {
  return {
    id: r.id,
    modelType: r.model_type,
    version: r.version,
    previousVersion: r.previous_version,
    status: r.status,
    reason: r.reason,
    canary: JSON.parse(r.canary_json) as string[],
    control: JSON.parse(r.control_json) as string[],
    thresholds: JSON.parse(r.config_json) as RolloutThresholds,
    figures: r.figures_json ? (JSON.parse(r.figures_json) as RolloutView['figures']) : null,
    startedAt: r.started_at,
    endedAt: r.ended_at,
  };
}
