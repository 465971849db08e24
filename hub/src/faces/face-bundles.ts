import { readFile } from 'node:fs/promises';
import {
  DEFAULT_CROP,
  type DetectorSpec,
  errorMessage,
  FaceDetector,
  FaceGallery,
  faceTensor,
  type FaceSpec,
  type GalleryEntry,
  type Logger,
  normalizeEmbedding,
  OnnxModel,
  type PreprocessSpec,
  sha256Hex,
} from '@edgeloop/shared';
import type { IntakeService } from '../intake/intake-service.js';
import type { RebuiltCandidate } from './gallery-deploy.js';
import type { ArtifactStore } from '../registry/artifact-store.js';
import type { ModelRegistry, VersionRecord, VersionStatus } from '../registry/model-registry.js';
import { enrolmentCrop } from './enrolment-crop.js';

/** The trained parts of a face bundle; the gallery is made from them and the enrolled members. */
export interface FaceNetworks {
  embedder: { onnx: Uint8Array; preprocess: PreprocessSpec };
  detector: { onnx: Uint8Array; spec: DetectorSpec };
  threshold: number;
  crop?: FaceSpec['crop'];
  maxFaces?: number;
}

export interface FaceBundleMeta {
  label: string;
  status: VersionStatus;
  parentVersion?: number | null;
  metrics?: Record<string, number>;
  evidenceSha256?: string | null;
}

/**
 * Face bundles: embedding network + detector + a gallery of every enrolled member, embedded by
 * that very network, signed as one manifest. A new network always comes with a freshly embedded
 * gallery; a change of members re-embeds with the network in service and ships a new version.
 */
export class FaceBundles {
  /** `${embedderSha}:${photoSha}` → template (an embedding never changes for the same network and photo). */
  private readonly cache = new Map<string, Float32Array>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly o: {
      registry: ModelRegistry;
      artifacts: ArtifactStore;
      intake: IntakeService;
      log: Logger;
      /**
       * Called with every version made by `refreshGallery` (e.g. deploy it to the doors), and with the
       * rebuilt canary candidate when a face canary was running.
       */
      onGalleryVersion?: (rec: VersionRecord, candidate: RebuiltCandidate | null) => Promise<void>;
      /** The face version in a running canary, if any: its gallery is rebuilt with the same member change. */
      canaryVersion?: () => number | null;
      maxCache?: number;
    },
  ) {}

  /**
   * Embeds every enrolled member's photos with `nets`; members without a usable photo are left out and
   * reported. With `base` (a gallery made by the same embedder), a member whose template count still
   * matches their photos keeps their templates: enrolling or deleting one member embeds nothing else.
   */
  async buildGallery(nets: FaceNetworks, base: FaceGallery | null = null): Promise<{ gallery: FaceGallery; missing: string[]; undetected: number }> {
    const embedderSha = sha256Hex(nets.embedder.onnx);
    const kept = new Map((base?.entries() ?? []).map((e) => [e.memberId, e.embeddings]));
    const network = await OnnxModel.load(nets.embedder.onnx, nets.embedder.preprocess);
    const detector = await FaceDetector.load(nets.detector.onnx, nets.detector.spec);
    const spec = nets.embedder.preprocess;
    const entries: GalleryEntry[] = [];
    const missing: string[] = [];
    let undetected = 0;
    let dim = 0;
    try {
      for (const m of this.o.intake.listMembers()) {
        const reuse = kept.get(m.id);
        if (reuse && reuse.length === m.photos.length) {
          dim = reuse[0]?.length ?? dim;
          entries.push({ memberId: m.id, embeddings: reuse });
          continue;
        }
        const embeddings: Float32Array[] = [];
        for (const sha of m.photos) {
          const key = `${embedderSha}:${sha}`;
          let emb = this.cache.get(key);
          if (!emb) {
            try {
              const photo = await readFile(this.o.artifacts.pathOf(sha));
              const { crop, detected } = await enrolmentCrop(photo, detector, { crop: nets.crop ?? DEFAULT_CROP }, spec);
              if (!detected) undetected++;
              emb = normalizeEmbedding(await network.runTensor(faceTensor(crop, spec)));
              this.remember(key, emb);
            } catch (err) {
              this.o.log.warn({ memberId: m.id, photo: sha, err: errorMessage(err) }, 'enrolment photo not usable');
              continue;
            }
          }
          dim = emb.length;
          embeddings.push(emb);
        }
        if (embeddings.length > 0) entries.push({ memberId: m.id, embeddings });
        else missing.push(m.id);
      }
      if (dim === 0) dim = (await network.runTensor(new Float32Array(spec.channels * spec.width * spec.height))).length;
    } finally {
      await network.release();
      await detector.release();
    }
    return { gallery: FaceGallery.fromEntries(entries, dim), missing, undetected };
  }

  /** Registers a face version: the networks plus a gallery embedded now. */
  register(nets: FaceNetworks, meta: FaceBundleMeta): Promise<VersionRecord> {
    return this.serial(() => this.registerNow(nets, meta));
  }

  /**
   * After members changed: the active face version's networks with a freshly embedded gallery, as a
   * new active version (handed to `onGalleryVersion`). Null when no face bundle is in service yet.
   * A candidate in a running canary gets the same change (a deleted member must leave the canary
   * doors too): its networks with a fresh gallery, registered as a new version for the canary.
   */
  refreshGallery(reason: string): Promise<VersionRecord | null> {
    return this.serial(async () => {
      const active = this.o.registry.active('face');
      const nets = active ? await this.networksOf(active) : null;
      if (!active || !nets) return null;
      const rec = await this.rebuild(active, nets, `face gallery: ${reason}`, 'active');
      this.o.registry.setStatus('face', rec.version, 'active');
      const canary = this.o.canaryVersion?.() ?? null;
      let candidate: RebuiltCandidate | null = null;
      if (canary !== null) {
        try {
          const cand = this.o.registry.get('face', canary);
          const candNets = await this.networksOf(cand);
          candidate = { from: canary, rec: candNets ? await this.rebuild(cand, candNets, `face canary gallery: ${reason}`, 'verified') : null };
        } catch (err) {
          this.o.log.error({ candidate: canary, err: errorMessage(err) }, 'canary candidate gallery not rebuilt');
          candidate = { from: canary, rec: null };
        }
      }
      await this.o.onGalleryVersion?.(rec, candidate);
      return rec;
    });
  }

  /**
   * A face version whose gallery holds today's members: `rec` itself when its gallery still matches
   * the member list (same members, same photo counts), else its networks with a rebuilt gallery as a
   * new 'verified' version. A candidate held for days before it rolls out must not bring back a
   * deleted member, nor leave out a new one.
   */
  upToDate(rec: VersionRecord): Promise<VersionRecord> {
    return this.serial(async () => {
      const nets = await this.networksOf(rec);
      if (!nets) return rec;
      const gallery = await this.galleryOf(rec);
      const members = this.o.intake.listMembers().filter((m) => m.photos.length > 0);
      const counts = new Map((gallery?.entries() ?? []).map((e) => [e.memberId, e.embeddings.length]));
      if (gallery && counts.size === members.length && members.every((m) => counts.get(m.id) === m.photos.length)) return rec;
      return this.rebuild(rec, nets, `${rec.label} (gallery of today's members)`, 'verified');
    });
  }

  /** `from`'s networks and metrics with a gallery of today's members (built on `from`'s gallery). */
  private async rebuild(from: VersionRecord, nets: FaceNetworks, label: string, status: 'active' | 'verified'): Promise<VersionRecord> {
    const m = from.signed.signed;
    const parentVersion = status === 'active' ? from.version : m.parentVersion;
    return this.registerNow(
      nets,
      { label: label.slice(0, 200), status, parentVersion, metrics: m.metrics, evidenceSha256: m.evidenceSha256 },
      await this.galleryOf(from),
    );
  }

  /** The gallery a registered face version ships (null if unreadable: it is then rebuilt from the photos). */
  private async galleryOf(rec: VersionRecord): Promise<FaceGallery | null> {
    const g = rec.signed.signed.files.find((f) => f.role === 'gallery');
    try {
      return g ? FaceGallery.decode(await readFile(this.o.artifacts.pathOf(g.sha256))) : null;
    } catch (err) {
      this.o.log.warn({ version: rec.version, err: errorMessage(err) }, 'gallery of the version in service unreadable; re-embedding every member');
      return null;
    }
  }

  /** The networks of a registered face version, or null when it is not a full face bundle. */
  async networksOf(rec: VersionRecord): Promise<FaceNetworks | null> {
    const m = rec.signed.signed;
    const net = m.files.find((f) => f.role === 'network');
    const det = m.files.find((f) => f.role === 'detector');
    if (!m.face || !net || !det) return null;
    return {
      embedder: { onnx: await readFile(this.o.artifacts.pathOf(net.sha256)), preprocess: m.preprocess },
      detector: { onnx: await readFile(this.o.artifacts.pathOf(det.sha256)), spec: m.face.detector },
      threshold: m.face.threshold,
      crop: m.face.crop,
      maxFaces: m.face.maxFaces,
    };
  }

  private async registerNow(nets: FaceNetworks, meta: FaceBundleMeta, base: FaceGallery | null = null): Promise<VersionRecord> {
    const { gallery, missing, undetected } = await this.buildGallery(nets, base);
    if (missing.length > 0) this.o.log.warn({ missing }, 'members without a usable photo are not in the gallery');
    const face: FaceSpec = {
      detector: nets.detector.spec,
      crop: nets.crop ?? DEFAULT_CROP,
      threshold: nets.threshold,
      maxFaces: nets.maxFaces ?? 3,
      members: gallery.size,
    };
    const rec = await this.o.registry.register({
      modelType: 'face',
      label: meta.label,
      files: [
        { name: 'embedder.onnx', role: 'network', bytes: nets.embedder.onnx },
        { name: 'detector.onnx', role: 'detector', bytes: nets.detector.onnx },
        { name: 'gallery.bin', role: 'gallery', bytes: gallery.encode() },
      ],
      preprocess: nets.embedder.preprocess,
      labels: [],
      metrics: { ...(meta.metrics ?? {}), members: gallery.size },
      parentVersion: meta.parentVersion ?? null,
      evidenceSha256: meta.evidenceSha256 ?? null,
      status: meta.status,
      face,
    });
    this.o.log.info({ version: rec.version, members: gallery.size, undetected }, 'face bundle registered');
    return rec;
  }

  private remember(key: string, emb: Float32Array): void {
    if (this.cache.size >= (this.o.maxCache ?? 100_000)) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(key, emb);
  }

  /** One bundle build at a time, in call order: a deletion is never overtaken by an older build. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
