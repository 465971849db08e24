import { ValidationError } from '../errors.js';

/** One enrolled member: their id and one or more embeddings (templates). */
export interface GalleryEntry {
  memberId: string;
  embeddings: readonly Float32Array[];
}

export interface GalleryMatch {
  memberId: string;
  /** Cosine similarity with the member's closest template, -1..1. */
  score: number;
  /** Best score of any other member (-1 when there is none): how clear the decision was. */
  secondScore: number;
}

const MAGIC = 'ELGALRY1';
const MAX_HEADER = 64 * 1024 * 1024;
const memberIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/**
 * The member gallery of a face bundle: unit-length templates made by the bundle's own embedding
 * network, matched by cosine similarity; a member's score is its closest template's. Serialised as
 * `ELGALRY1`, a u32 LE header length, a JSON header `{dim, members: [{id, templates}]}`, padding to
 * 4 bytes and the templates as float32 LE, member-major.
 */
export class FaceGallery {
  private constructor(
    readonly dim: number,
    private readonly ids: readonly string[],
    /** Template count per member, in `ids` order. */
    private readonly counts: readonly number[],
    /** All templates, row-major, `dim` floats each. */
    private readonly matrix: Float32Array,
  ) {}

  static fromEntries(entries: readonly GalleryEntry[], dim?: number): FaceGallery {
    const d = dim ?? entries[0]?.embeddings[0]?.length ?? 0;
    if (!Number.isInteger(d) || d <= 0) throw new ValidationError('gallery: embedding dimension must be a positive integer');
    const seen = new Set<string>();
    let rows = 0;
    for (const e of entries) {
      if (!memberIdPattern.test(e.memberId)) throw new ValidationError(`gallery: bad member id ${JSON.stringify(e.memberId)}`);
      if (seen.has(e.memberId)) throw new ValidationError(`gallery: member ${e.memberId} appears twice`);
      seen.add(e.memberId);
      if (e.embeddings.length === 0) throw new ValidationError(`gallery: member ${e.memberId} has no templates`);
      for (const v of e.embeddings) if (v.length !== d) throw new ValidationError(`gallery: member ${e.memberId} has a ${v.length}-d template, expected ${d}`);
      rows += e.embeddings.length;
    }
    const matrix = new Float32Array(rows * d);
    let r = 0;
    for (const e of entries) {
      for (const v of e.embeddings) {
        matrix.set(unit(v, e.memberId), r * d);
        r++;
      }
    }
    return new FaceGallery(
      d,
      entries.map((e) => e.memberId),
      entries.map((e) => e.embeddings.length),
      matrix,
    );
  }

  static empty(dim: number): FaceGallery {
    return FaceGallery.fromEntries([], dim);
  }

  static decode(bytes: Uint8Array): FaceGallery {
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buf.length < 12 || buf.toString('latin1', 0, 8) !== MAGIC) throw new ValidationError('gallery: not an Edgeloop gallery file');
    const headerLen = buf.readUInt32LE(8);
    if (headerLen > MAX_HEADER || 12 + headerLen > buf.length) throw new ValidationError('gallery: header runs past the end of the file');
    let header: { dim?: unknown; members?: unknown };
    try {
      header = JSON.parse(buf.toString('utf8', 12, 12 + headerLen)) as typeof header;
    } catch {
      throw new ValidationError('gallery: header is not JSON');
    }
    const dim = header.dim;
    const members = header.members;
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim <= 0 || !Array.isArray(members)) throw new ValidationError('gallery: header needs dim and members');
    const ids: string[] = [];
    const counts: number[] = [];
    const seen = new Set<string>();
    for (const m of members as { id?: unknown; templates?: unknown }[]) {
      if (typeof m?.id !== 'string' || !memberIdPattern.test(m.id) || seen.has(m.id)) throw new ValidationError('gallery: bad or repeated member id');
      if (typeof m.templates !== 'number' || !Number.isInteger(m.templates) || m.templates <= 0) throw new ValidationError(`gallery: member ${m.id} has a bad template count`);
      seen.add(m.id);
      ids.push(m.id);
      counts.push(m.templates);
    }
    const start = align4(12 + headerLen);
    const rows = counts.reduce((a, b) => a + b, 0);
    if (buf.length !== start + rows * dim * 4) throw new ValidationError(`gallery: expected ${start + rows * dim * 4} bytes, got ${buf.length}`);
    const matrix = new Float32Array(rows * dim);
    for (let i = 0; i < matrix.length; i++) {
      const v = buf.readFloatLE(start + i * 4);
      if (!Number.isFinite(v)) throw new ValidationError('gallery: non-finite template value');
      matrix[i] = v;
    }
    return new FaceGallery(dim, ids, counts, matrix);
  }

  encode(): Uint8Array {
    const header = Buffer.from(JSON.stringify({ dim: this.dim, members: this.ids.map((id, i) => ({ id, templates: this.counts[i] })) }), 'utf8');
    const start = align4(12 + header.length);
    const out = Buffer.alloc(start + this.matrix.length * 4);
    out.write(MAGIC, 0, 'latin1');
    out.writeUInt32LE(header.length, 8);
    header.copy(out, 12);
    for (let i = 0; i < this.matrix.length; i++) out.writeFloatLE(this.matrix[i] as number, start + i * 4);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  get size(): number {
    return this.ids.length;
  }

  memberIds(): readonly string[] {
    return this.ids;
  }

  /** Every member with their templates (copies), in gallery order: to build the next gallery from this one. */
  entries(): GalleryEntry[] {
    const out: GalleryEntry[] = [];
    let row = 0;
    this.ids.forEach((memberId, k) => {
      const n = this.counts[k] as number;
      const embeddings: Float32Array[] = [];
      for (let t = 0; t < n; t++, row++) embeddings.push(this.matrix.slice(row * this.dim, (row + 1) * this.dim));
      out.push({ memberId, embeddings });
    });
    return out;
  }

  /** The closest member to a unit-length embedding, or null for an empty gallery. */
  match(embedding: Float32Array): GalleryMatch | null {
    if (embedding.length !== this.dim) throw new ValidationError(`gallery: embedding has ${embedding.length} values, gallery ${this.dim}`);
    if (this.ids.length === 0) return null;
    const q = unit(embedding, 'query');
    const d = this.dim;
    const m = this.matrix;
    const counts = this.counts;
    const members = counts.length;
    // Flat scan over the rows; a float32 × float32 product is exact in float64, so only the
    // summation order differs from a plain loop (≈1e-16). Four accumulators over d4 = d & ~3.
    const d4 = d & ~3;
    let best = -Infinity;
    let bestIdx = -1;
    let second = -Infinity;
    let o = 0;
    for (let k = 0; k < members; k++) {
      let memberBest = -Infinity;
      const end = o + (counts[k] as number) * d;
      for (; o < end; o += d) {
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let j = 0;
        let p = o;
        for (; j < d4; j += 4, p += 4) {
          s0 += (m[p] as number) * (q[j] as number);
          s1 += (m[p + 1] as number) * (q[j + 1] as number);
          s2 += (m[p + 2] as number) * (q[j + 2] as number);
          s3 += (m[p + 3] as number) * (q[j + 3] as number);
        }
        for (; j < d; j++, p++) s0 += (m[p] as number) * (q[j] as number);
        const s = s0 + s1 + (s2 + s3);
        if (s > memberBest) memberBest = s;
      }
      if (memberBest > best) {
        second = best;
        best = memberBest;
        bestIdx = k;
      } else if (memberBest > second) second = memberBest;
    }
    return { memberId: this.ids[bestIdx] as string, score: best, secondScore: Number.isFinite(second) ? second : -1 };
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function unit(v: Float32Array, what: string): Float32Array {
  let sum = 0;
  for (const x of v) {
    if (!Number.isFinite(x)) throw new ValidationError(`gallery: ${what} has a non-finite value`);
    sum += x * x;
  }
  if (sum === 0) throw new ValidationError(`gallery: ${what} is a zero vector`);
  const inv = 1 / Math.sqrt(sum);
  return v.map((x) => x * inv);
}
