import { type Logger, ROLE_OF_MODEL_TYPE } from '@edgeloop/shared';
import type { FleetService } from '../fleet/fleet-service.js';
import type { ModelRegistry, VersionRecord } from '../registry/model-registry.js';
import type { RolloutManager } from '../rollout/rollout-manager.js';
import type { RolloutService } from '../rollout/rollout-service.js';

/** A face canary's candidate rebuilt for a member change: `rec` is null when the rebuild failed. */
export interface RebuiltCandidate {
  from: number;
  rec: VersionRecord | null;
}

/**
 * Ships a member change (a face version with a fresh gallery, `rec`, already active) to the doors,
 * under the rollout lock, judged on the state at that moment rather than when the rebuild began:
 *  - the canary still runs the candidate the rebuild started from: the rollout moves to the rebuilt
 *    candidate and the other doors get `rec`; if the candidate could not be rebuilt, the canary is
 *    aborted (a deleted member must not stay on the canary doors) and every door gets `rec`;
 *  - the candidate was promoted meanwhile: its rebuilt twin becomes the version in service (if it
 *    could not be rebuilt, every door gets a signed rollback to `rec`: the member change comes first);
 *  - otherwise every door outside a running canary gets `rec`, unless a newer version took over.
 */
export function galleryDeployer(d: { rollouts: RolloutManager; registry: ModelRegistry; rollout: RolloutService; fleet: FleetService; log: Logger }) {
  const doors = (except: readonly string[] = []): string[] => d.fleet.idsByRole(ROLE_OF_MODEL_TYPE.face).filter((id) => !except.includes(id));
  return (rec: VersionRecord, candidate: RebuiltCandidate | null): Promise<void> =>
    d.rollouts.exclusive(async () => {
      let running = d.rollouts.runningFor('face');
      if (candidate && running && running.version === candidate.from) {
        if (candidate.rec) {
          await d.rollouts.retargetHeld(running.id, candidate.rec.version, 'members changed');
          await d.rollout.deploy('face', rec.version, doors(running.canary));
          return;
        }
        d.log.error({ rolloutId: running.id, candidate: candidate.from }, 'the canary candidate could not be rebuilt for a member change; aborting its canary');
        await d.rollouts.abortHeld(running.id, 'members changed and the candidate gallery could not be rebuilt');
        running = null;
      }
      const active = d.registry.active('face');
      if (candidate && active?.version === candidate.from) {
        if (candidate.rec) {
          d.registry.setStatus('face', candidate.rec.version, 'active');
          await d.rollout.deploy('face', candidate.rec.version);
          return;
        }
        // Promoted meanwhile, and its gallery could not be rebuilt: the member change comes first, so
        // every door goes back (signed rollback) to the refreshed version in service before it.
        d.log.error({ promoted: candidate.from, back: rec.version }, 'promoted face version has a stale gallery that could not be rebuilt; rolling back to the refreshed version');
        d.registry.setStatus('face', rec.version, 'active');
        await d.rollout.deploy('face', rec.version, undefined, true);
        return;
      }
      if (active?.version !== rec.version) return;
      await d.rollout.deploy('face', rec.version, doors(running?.canary));
    });
}
