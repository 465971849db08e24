import { openImage, ValidationError } from '@edgeloop/shared';
import { z } from 'zod';

/** The laundry model's two classes, as the AI reports them and as the branch manager confirms them. */
export const LAUNDRY_RESULTS = ['good', 'defect'] as const;
export const laundryResultSchema = z.enum(LAUNDRY_RESULTS);
export type LaundryResult = z.infer<typeof laundryResultSchema>;

export const memberIdSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'member id must be letters, digits, . _ - (not starting with . _ -)');

export const taskIdSchema = z.uuid();
export const modelVersionSchema = z.number().int().positive();
/** Cosine similarity of unit embeddings. */
export const faceScoreSchema = z.number().min(-1).max(1);
export const confidenceSchema = z.number().min(0).max(1);
export const branchSchema = z.string().trim().min(1).max(64);

/** Body of a UC-14 confirmation. Self-contradictory bodies are refused here (400); see `confirmationIssues`. */
export const confirmationSchema = z
  .object({
    finalResult: laundryResultSchema,
    aiResult: laundryResultSchema,
    corrected: z.boolean(),
    /** Blank counts as absent. */
    correctionReason: z
      .string()
      .trim()
      .max(500)
      .nullish()
      .transform((s) => (s ? s : undefined)),
  })
  .superRefine((c, ctx) => {
    for (const issue of confirmationIssues(c)) ctx.addIssue({ code: 'custom', ...issue });
  });
export type Confirmation = z.input<typeof confirmationSchema>;

/**
 * The consistency rules of a confirmation that need no stored state:
 * `corrected` must equal `finalResult !== aiResult`; a correction needs a reason; a reason is only for corrections.
 */
export function confirmationIssues(c: { finalResult: string; aiResult: string; corrected: boolean; correctionReason?: string | undefined }): {
  path: string[];
  message: string;
}[] {
  const issues: { path: string[]; message: string }[] = [];
  const differs = c.finalResult !== c.aiResult;
  if (c.corrected !== differs) {
    issues.push({
      path: ['corrected'],
      message: `corrected must be ${differs} when finalResult is ${c.finalResult} and aiResult is ${c.aiResult}`,
    });
  }
  if (c.corrected && !c.correctionReason) issues.push({ path: ['correctionReason'], message: 'a correction needs a reason' });
  if (!c.corrected && c.correctionReason) issues.push({ path: ['correctionReason'], message: 'a reason is only given with a correction' });
  return issues;
}

export interface Issue {
  path: string;
  message: string;
}

/** Same error shape as the HTTP layer's parseInput: one ValidationError listing every issue. */
export function invalid(what: string, issues: Issue[]): ValidationError {
  return new ValidationError(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`, { issues });
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw invalid(
    what,
    result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}

/** Formats sharp may report that we take as photos (`raw`: Netpbm decoded by openImage). SVG, PDF and the like are refused. */
const PHOTO_FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'raw']);
const MAX_PHOTO_PIXELS = 40_000_000;

/** Why `bytes` is not a usable photo, or null when it is (decodable header, allowed format, sane size). */
export async function photoProblem(bytes: Uint8Array): Promise<string | null> {
  if (bytes.length === 0) return 'photo is empty';
  try {
    const meta = await openImage(bytes).metadata();
    if (!meta.format || !PHOTO_FORMATS.has(meta.format)) return `photo format ${meta.format ?? 'unknown'} is not accepted (JPEG, PNG, WebP, GIF, PGM/PPM)`;
    if (!meta.width || !meta.height) return 'photo has no dimensions';
    if (meta.width * meta.height > MAX_PHOTO_PIXELS) return 'photo is too large';
    return null;
  } catch (err) {
    return `not a decodable image (${err instanceof Error ? err.message : String(err)})`;
  }
}

async function photoIssues(photos: { path: string; bytes: Uint8Array }[]): Promise<Issue[]> {
  const problems = await Promise.all(photos.map(async (p) => ({ path: p.path, message: await photoProblem(p.bytes) })));
  return problems.filter((p): p is Issue => p.message !== null);
}

/** Throws a ValidationError naming each photo (by `path`) that is not a usable image. */
export async function assertPhotos(photos: { path: string; bytes: Uint8Array }[], what: string): Promise<void> {
  const issues = await photoIssues(photos);
  if (issues.length > 0) throw invalid(what, issues);
}

/** Parses `value` and checks each photo; one ValidationError lists every field issue and every bad photo (by `path`). */
export async function parseWithPhotos<S extends z.ZodType>(
  schema: S,
  value: unknown,
  photos: { path: string; bytes: Uint8Array }[],
  what: string,
): Promise<z.output<S>> {
  const result = schema.safeParse(value);
  const issues: Issue[] = result.success ? [] : result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  issues.push(...(await photoIssues(photos)));
  if (!result.success || issues.length > 0) throw invalid(what, issues);
  return result.data;
}
