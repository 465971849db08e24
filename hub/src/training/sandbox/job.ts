import { preprocessSpecSchema } from '@edgeloop/shared';
import { z } from 'zod';

const labelledFile = z.object({ file: z.string().min(1), label: z.string().min(1) });
const network = z.object({ network: z.string().min(1), preprocess: preprocessSpecSchema, labels: z.array(z.string()), threshold: z.number().optional() });

/** What the sandbox child is asked to measure: written by the hub, read by the child, both validated. */
export const verifyJobSchema = z.object({
  modelType: z.enum(['laundry', 'face']),
  candidate: network,
  /** The model in service, measured on the same data; null when there is none comparable. */
  service: network.nullable(),
  /** Laundry: photos with their labels. Faces: aligned crops labelled with the member id. */
  validation: z.array(labelledFile),
  holdout: z.array(labelledFile),
  /** Faces: the enrolment crops the gallery is made of. */
  gallery: z.array(labelledFile).default([]),
  /** Faces: the nightly samples (the model's own matches), for the drift figure. */
  samples: z.array(labelledFile).default([]),
  perf: z.object({ requests: z.number().int().positive(), concurrency: z.number().int().positive() }),
  out: z.string().min(1),
});
export type VerifyJob = z.infer<typeof verifyJobSchema>;

export interface ClassMetrics {
  accuracy: number;
  /** Recall per label. */
  perClass: Record<string, number>;
  /** confusion[actual][predicted] counts. */
  confusion: Record<string, Record<string, number>>;
  n: number;
  errors: number;
}

export interface FaceMetrics {
  rank1: number;
  far: number;
  frr: number;
  threshold: number;
  probes: number;
  errors: number;
}

export interface PerfMetrics {
  avgLatencyMs: number;
  p95LatencyMs: number;
  throughputRps: number;
  peakRssMb: number;
  /** Requests of the speed test that failed. */
  failedRequests: number;
}

/** The sandbox child's report (the hub adds limits, verdict and dataset hashes around it). */
export interface SandboxReport {
  modelType: 'laundry' | 'face';
  candidate: { validation: ClassMetrics | FaceMetrics; holdout: ClassMetrics | FaceMetrics };
  service: { validation: ClassMetrics | FaceMetrics; holdout: ClassMetrics | FaceMetrics } | null;
  perf: PerfMetrics;
  /** Faces: how far the nightly samples sit from the enrolment photos (0 = the same). */
  drift: number | null;
}
