import { FaceSamples } from './face-samples.js';
import type {
  ConfirmedTask,
  FaceSampleInput,
  IntakeDeps,
  LaundryTaskInput,
  LaundryTaskView,
  MemberPhoto,
  MemberView,
  TaskConfirmedEvent,
  TaskStatus,
} from './intake-types.js';
import { LaundryTasks } from './laundry-tasks.js';
import { MemberGallery } from './member-gallery.js';
import type { Confirmation } from './schemas.js';

export type * from './intake-types.js';

const DAY_MS = 86_400_000;

/**
 * What the edge sends back for learning, and the branch manager's verdicts on it (UC-14, feeding UC-24):
 * face samples from door agents, laundry tasks with the AI's result, their confirmations, and the member gallery.
 * Photos are kept in the content-addressed artifact store; rows hold their sha256.
 * The work is done by `FaceSamples`, `LaundryTasks` and `MemberGallery`; this is the one face the rest of the hub uses.
 */
export class IntakeService {
  private readonly faces: FaceSamples;
  private readonly tasks: LaundryTasks;
  private readonly members: MemberGallery;

  constructor(deps: IntakeDeps) {
    if (!(deps.faceSampleRetentionDays > 0)) throw new RangeError('faceSampleRetentionDays must be positive');
    const ctx = { db: deps.db, artifacts: deps.artifacts, log: deps.log, now: deps.now ?? (() => new Date()) };
    this.faces = new FaceSamples(ctx, deps.faceSampleRetentionDays * DAY_MS);
    this.tasks = new LaundryTasks(ctx);
    this.members = new MemberGallery(ctx);
  }

  // ---- face samples ------------------------------------------------------------------------------

  /** A successful face authentication reported by a door agent, with the photo it matched on. */
  addFaceSample(deviceId: string, input: FaceSampleInput): Promise<{ id: string; sha256: string }> {
    return this.faces.add(deviceId, input);
  }

  /** The newest face samples (successful authentications), for training. */
  faceSamples(limit = 5_000): { id: string; memberId: string; sha256: string; score: number; at: string }[] {
    return this.faces.list(limit);
  }

  /** Deletes face samples older than the retention period; returns how many. */
  pruneFaceSamples(): number {
    return this.faces.prune();
  }

  // ---- laundry tasks -----------------------------------------------------------------------------

  /**
   * A laundry item the AI has judged, awaiting the branch manager's confirmation. Idempotent on `id`:
   * the same device sending the same photo again gets the stored task (`created: false`); anything else
   * under an existing id is a conflict.
   */
  addLaundryTask(deviceId: string, branch: string, input: LaundryTaskInput): Promise<{ id: string; sha256: string; created: boolean }> {
    return this.tasks.add(deviceId, branch, input);
  }

  getTask(taskId: string): LaundryTaskView {
    return this.tasks.get(taskId);
  }

  /** Newest first. */
  listTasks(opts: { status?: TaskStatus | undefined; branch?: string | undefined; limit?: number | undefined } = {}): LaundryTaskView[] {
    return this.tasks.list(opts);
  }

  /**
   * UC-14: the branch manager's verdict on a task, recorded once, with a `TaskConfirmed` hub event.
   * 400: the body contradicts itself (`corrected` ≠ finalResult≠aiResult, correction without reason).
   * 404: no such task. 403: `opts.branch` given and the task belongs to another branch.
   * 409: already confirmed, or `aiResult` is not the AI result stored for the task.
   */
  confirmTask(taskId: string, input: Confirmation, opts: { branch?: string; confirmedBy?: string } = {}): TaskConfirmedEvent {
    return this.tasks.confirm(taskId, input, opts);
  }

  /** Corrections confirmed after `iso` (all when null): the UC-24 retraining trigger counts these. */
  correctionsSince(iso: string | null): number {
    return this.tasks.correctionsSince(iso);
  }

  /** Confirmed tasks, newest confirmation first: the training set for retraining. */
  confirmedTasks(opts: { since?: string | null; correctedOnly?: boolean; limit?: number } = {}): ConfirmedTask[] {
    return this.tasks.confirmed(opts);
  }

  // ---- members -----------------------------------------------------------------------------------

  addMember(input: { id?: string | undefined; name: string; branch: string }, photos: Buffer[]): Promise<MemberView> {
    return this.members.add(input, photos);
  }

  addMemberPhotos(id: string, photos: Buffer[]): Promise<MemberView> {
    return this.members.addPhotos(id, photos);
  }

  /**
   * Removes a member with its photos and face samples. Returns the sha256s of those photos that nothing
   * (another member, a face sample, a laundry task) references any more, so the caller can drop them
   * from the gallery and the artifact store.
   */
  deleteMember(id: string): string[] {
    return this.members.delete(id);
  }

  listMembers(): MemberView[] {
    return this.members.list();
  }

  member(id: string): MemberView {
    return this.members.get(id);
  }

  memberPhotos(id: string): MemberPhoto[] {
    return this.members.photos(id);
  }
}
