import {
  type DecodedFleetMessage,
  type DecodedMessage,
  type DesiredState,
  errorMessage,
  type Logger,
  type ModelType,
  SignatureError,
  type Verifier,
} from '@edgeloop/shared';
import type { InstalledStateFile } from '../model/installed-state.js';
import { checkDesiredState } from '../updates/planner.js';
import type { UpdateRunner } from '../updates/update-runner.js';

/**
 * Handles what the hub sends: a desired state is checked (signature, device, expiry, revision)
 * before its revision is recorded and the runner converges to it.
 */
export function hubMessageHandler(d: {
  deviceId: string;
  modelType: ModelType;
  trust: Verifier;
  installed: InstalledStateFile;
  runner: UpdateRunner;
  log: Logger;
  refused: (version: number | null, code: string, reason: string) => void;
  reportState: () => void;
  /** Applies a root-signed key set; resolves true when the ring changed. */
  applyKeySet: (set: Extract<DecodedFleetMessage, { name: 'keys' }>['payload']) => Promise<boolean>;
}): (msg: DecodedMessage | DecodedFleetMessage) => void {
  // The last desired state refused for want of a key: retried when a newer key set arrives
  // (after a rotation the key set and the desired state can arrive in either order).
  let waitingForKey: Extract<DecodedMessage, { name: 'desired' }> | null = null;
  const handle = (msg: DecodedMessage | DecodedFleetMessage): void => {
    if (msg.name === 'keys') {
      d.applyKeySet(msg.payload)
        .then((changed) => {
          const retry = waitingForKey;
          if (changed && retry) {
            waitingForKey = null;
            handle(retry);
          }
        })
        .catch((err) => d.log.error({ err: errorMessage(err) }, 'key set could not be applied'));
      return;
    }
    if (msg.name === 'cmd') {
      if (msg.payload.type === 'report-state') d.reportState();
      return;
    }
    if (msg.name !== 'desired') return;
    let desired: DesiredState;
    try {
      desired = d.trust.verify(msg.payload);
    } catch (err) {
      const reason = err instanceof SignatureError ? err.message : errorMessage(err);
      if (err instanceof SignatureError && err.reason === 'unknown-key') waitingForKey = msg;
      d.log.warn({ reason }, 'desired state refused: signature');
      d.refused(null, 'signature', reason); // the version in an unverified payload is the attacker's choice
      return;
    }
    const check = checkDesiredState(desired, { deviceId: d.deviceId, lastRevision: d.installed.get().desiredRevision, now: new Date() });
    if (!check.ok) {
      d.log.warn(check, 'desired state refused');
      d.refused(null, check.code, check.reason);
      return;
    }
    d.installed
      .update((s) => ({ ...s, desiredRevision: desired.revision }))
      .then(() => d.runner.offer(desired))
      .catch((err) => d.log.error({ err: errorMessage(err) }, 'could not take desired state'));
  };
  return handle;
}
