import type { Logger } from '@edgeloop/shared';
import type { ArtifactStore } from '../registry/artifact-store.js';
import type { Db } from '../store/db.js';

/** What the parts of the intake service share: `IntakeDeps` with the clock resolved. */
export interface IntakeContext {
  db: Db;
  artifacts: ArtifactStore;
  log: Logger;
  now: () => Date;
}
