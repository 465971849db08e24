import type { Logger } from '@edgeloop/shared';
import type { IntakeService, MemberView } from '../intake/intake-service.js';
import type { ArtifactStore } from '../registry/artifact-store.js';
import type { FaceBundles } from './face-bundles.js';

/**
 * Enrolling and deleting gym members, with what follows: the photos are stored (or erased), and a
 * new face bundle whose gallery includes (or no longer includes) the member is made and deployed.
 * Version labels never name the member: signed manifests are public.
 */
export class Members {
  constructor(
    private readonly o: { intake: IntakeService; artifacts: ArtifactStore; faces: FaceBundles; log: Logger },
  ) {}

  async enrol(input: { id?: string | undefined; name: string; branch: string }, photos: Buffer[]): Promise<MemberView & { faceVersion: number | null }> {
    const member = await this.o.intake.addMember(input, photos);
    const rec = await this.o.faces.refreshGallery('a member enrolled');
    return { ...member, faceVersion: rec?.version ?? null };
  }

  async addPhotos(id: string, photos: Buffer[]): Promise<MemberView & { faceVersion: number | null }> {
    const member = await this.o.intake.addMemberPhotos(id, photos);
    const rec = await this.o.faces.refreshGallery('photos added for a member');
    return { ...member, faceVersion: rec?.version ?? null };
  }

  /** Removes the member, their photos and samples from the hub, and ships a gallery without them. */
  async delete(id: string): Promise<{ id: string; removedPhotos: number; faceVersion: number | null }> {
    const unreferenced = this.o.intake.deleteMember(id);
    for (const sha of unreferenced) await this.o.artifacts.remove(sha);
    const rec = await this.o.faces.refreshGallery('a member deleted');
    this.o.log.info({ memberId: id, removedPhotos: unreferenced.length, faceVersion: rec?.version ?? null }, 'member erased');
    return { id, removedPhotos: unreferenced.length, faceVersion: rec?.version ?? null };
  }
}
