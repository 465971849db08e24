import express, { type Response, Router } from 'express';
import { type DeviceRole, ForbiddenError, UnauthorizedError } from '@edgeloop/shared';
import { z } from 'zod';
import type { Members } from '../../faces/members.js';
import type { IntakeService } from '../../intake/intake-service.js';
import {
  branchSchema,
  confidenceSchema,
  confirmationSchema,
  faceScoreSchema,
  invalid,
  laundryResultSchema,
  memberIdSchema,
  modelVersionSchema,
  photoProblem,
  taskIdSchema,
} from '../../intake/schemas.js';
import { parseInput } from '../validate.js';

/** Photos travel base64 in JSON (no multipart): these routers parse their own bodies up to this size. */
export const INTAKE_BODY_LIMIT = '8mb';

/** What the device routes need to know about the authenticated device (FleetService fits). */
export interface DeviceDirectory {
  get(id: string): { id: string; role: DeviceRole; branch: string };
}

const canonicalBase64 = (s: string) => s.length % 4 === 0 && Buffer.from(s, 'base64').toString('base64') === s;

/** A base64 photo → its bytes; refused unless it is standard padded base64 and decodes as an image. */
const photoBase64 = z
  .string()
  .min(1, 'photo is empty')
  .refine(canonicalBase64, 'must be standard padded base64')
  .transform((s) => Buffer.from(s, 'base64'))
  .superRefine(async (bytes, ctx) => {
    const problem = await photoProblem(bytes);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const faceSampleBody = z.object({
  memberId: memberIdSchema,
  score: faceScoreSchema,
  modelVersion: modelVersionSchema,
  photoBase64,
});
const laundryTaskBody = z.object({
  id: taskIdSchema.optional(),
  aiResult: laundryResultSchema,
  aiConfidence: confidenceSchema,
  modelVersion: modelVersionSchema,
  photoBase64,
});
const newMemberBody = z.object({
  id: memberIdSchema.optional(),
  name: z.string().trim().min(1).max(200),
  branch: branchSchema,
  photosBase64: z.array(photoBase64).max(20).default([]),
});
const memberPhotosBody = z.object({ photosBase64: z.array(photoBase64).min(1).max(20) });
const taskQuery = z.object({
  status: z.enum(['pending', 'confirmed']).optional(),
  branch: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
const deviceTaskQuery = taskQuery.omit({ branch: true });

/** Like parseInput, for schemas with async checks (photo decoding): one 400 listing every issue. */
async function parseBody<S extends z.ZodType>(schema: S, value: unknown, what: string): Promise<z.output<S>> {
  const result = await schema.safeParseAsync(value);
  if (result.success) return result.data;
  throw invalid(
    what,
    result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
  );
}

/**
 * Endpoints for devices; mount behind `requireDevice(fleet)`. Door agents post face samples, laundry
 * devices post tasks, and the branch tablet (a laundry device of the branch) confirms them (UC-14).
 */
export function deviceIntakeRoutes(intake: IntakeService, fleet: DeviceDirectory): Router {
  const r = Router();
  const deviceOf = (res: Response, role: DeviceRole) => {
    const id: unknown = res.locals.deviceId;
    if (typeof id !== 'string') throw new UnauthorizedError('device credentials required');
    const device = fleet.get(id);
    if (device.role !== role) throw new ForbiddenError(`device ${id} is a ${device.role} device; this needs a ${role} device`);
    return device;
  };
  r.use(express.json({ limit: INTAKE_BODY_LIMIT }));

  r.post('/samples/face', async (req, res) => {
    const device = deviceOf(res, 'gym-door');
    const b = await parseBody(faceSampleBody, req.body, 'face sample');
    const out = await intake.addFaceSample(device.id, { memberId: b.memberId, score: b.score, modelVersion: b.modelVersion, photo: b.photoBase64 });
    res.status(201).json(out);
  });

  r.get('/tasks', (req, res) => {
    const device = deviceOf(res, 'laundry');
    const q = parseInput(deviceTaskQuery, req.query, 'query');
    res.json({ tasks: intake.listTasks({ ...q, branch: device.branch }) });
  });

  r.post('/tasks', async (req, res) => {
    const device = deviceOf(res, 'laundry');
    const b = await parseBody(laundryTaskBody, req.body, 'laundry task');
    const out = await intake.addLaundryTask(device.id, device.branch, {
      id: b.id,
      aiResult: b.aiResult,
      aiConfidence: b.aiConfidence,
      modelVersion: b.modelVersion,
      photo: b.photoBase64,
    });
    res.status(out.created ? 201 : 200).json(out);
  });

  r.post('/tasks/:id/confirm', (req, res) => {
    const device = deviceOf(res, 'laundry');
    const id = parseInput(taskIdSchema, req.params.id, 'task id');
    const body = parseInput(confirmationSchema, req.body, 'confirmation');
    res.json(intake.confirmTask(id, body, { branch: device.branch, confirmedBy: device.id }));
  });
  return r;
}

/** Endpoints for administrators; mount behind the admin token. */
export function adminIntakeRoutes(intake: IntakeService, members: Members): Router {
  const r = Router();
  r.use(express.json({ limit: INTAKE_BODY_LIMIT }));

  r.get('/tasks', (req, res) => {
    res.json({ tasks: intake.listTasks(parseInput(taskQuery, req.query, 'query')) });
  });
  r.post('/tasks/:id/confirm', (req, res) => {
    const id = parseInput(taskIdSchema, req.params.id, 'task id');
    const body = parseInput(confirmationSchema, req.body, 'confirmation');
    res.json(intake.confirmTask(id, body, { confirmedBy: 'admin' }));
  });

  r.get('/members', (_req, res) => {
    res.json({ members: intake.listMembers() });
  });
  r.post('/members', async (req, res) => {
    const b = await parseBody(newMemberBody, req.body, 'member');
    res.status(201).json(await members.enrol({ id: b.id, name: b.name, branch: b.branch }, b.photosBase64));
  });
  r.get('/members/:id/photos', (req, res) => {
    const id = parseInput(memberIdSchema, req.params.id, 'member id');
    res.json({ photos: intake.memberPhotos(id) });
  });
  r.post('/members/:id/photos', async (req, res) => {
    const id = parseInput(memberIdSchema, req.params.id, 'member id');
    const b = await parseBody(memberPhotosBody, req.body, 'member photos');
    res.status(201).json(await members.addPhotos(id, b.photosBase64));
  });
  r.delete('/members/:id', async (req, res) => {
    const id = parseInput(memberIdSchema, req.params.id, 'member id');
    res.json(await members.delete(id));
  });
  return r;
}
