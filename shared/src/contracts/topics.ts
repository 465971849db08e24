import type { z } from 'zod';
import { errorMessage } from '../errors.js';
import {
  deviceCommandSchema,
  deviceEventSchema,
  deviceIdSchema,
  deviceStateSchema,
  signedDesiredStateSchema,
  telemetrySchema,
} from './device.js';
import { hubEventSchema, trainingProgressSchema } from './hub-events.js';
import { signedKeySetSchema } from './keys.js';

export const TOPIC_PREFIX = 'edgeloop/v1';

/**
 * The one map from MQTT topic to payload schema. Every publish and every receive on either side
 * goes through it. `from` says who may publish; `retain` whether the message is retained.
 */
export const TOPICS = {
  desired: { suffix: 'desired', schema: signedDesiredStateSchema, from: 'hub', retain: true },
  cmd: { suffix: 'cmd', schema: deviceCommandSchema, from: 'hub', retain: false },
  state: { suffix: 'state', schema: deviceStateSchema, from: 'device', retain: true },
  telemetry: { suffix: 'telemetry', schema: telemetrySchema, from: 'device', retain: false },
  events: { suffix: 'events', schema: deviceEventSchema, from: 'device', retain: false },
} as const satisfies Record<string, { suffix: string; schema: z.ZodType; from: 'hub' | 'device'; retain: boolean }>;

export type TopicName = keyof typeof TOPICS;

/** Topics for the whole fleet rather than one device: the hub publishes, every device may read. */
export const FLEET_TOPICS = {
  keys: { topic: `${TOPIC_PREFIX}/fleet/keys`, schema: signedKeySetSchema, retain: true },
  events: { topic: `${TOPIC_PREFIX}/fleet/events`, schema: hubEventSchema, retain: false },
  /** The latest epoch of the latest training run (retained: a page that subscribes sees it at once). */
  training: { topic: `${TOPIC_PREFIX}/fleet/training`, schema: trainingProgressSchema, retain: true },
} as const;
export type FleetTopicName = keyof typeof FLEET_TOPICS;
export type TopicPayload<N extends TopicName> = z.infer<(typeof TOPICS)[N]['schema']>;
export type TopicInput<N extends TopicName> = z.input<(typeof TOPICS)[N]['schema']>;

const TOPIC_NAMES = Object.keys(TOPICS) as TopicName[];

export function deviceTopic(name: TopicName, deviceId: string): string {
  return `${TOPIC_PREFIX}/devices/${deviceId}/${TOPICS[name].suffix}`;
}

/** Subscription filter for one topic kind over all devices (hub side). */
export function allDevicesFilter(name: TopicName): string {
  return `${TOPIC_PREFIX}/devices/+/${TOPICS[name].suffix}`;
}

export interface ParsedTopic {
  name: TopicName;
  deviceId: string;
}

export function parseTopic(topic: string): ParsedTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 5 || `${parts[0]}/${parts[1]}` !== TOPIC_PREFIX || parts[2] !== 'devices') return null;
  const deviceId = parts[3] ?? '';
  const name = TOPIC_NAMES.find((n) => TOPICS[n].suffix === parts[4]);
  if (!name || !deviceIdSchema.safeParse(deviceId).success) return null;
  return { name, deviceId };
}

export type DecodedMessage = {
  [N in TopicName]: { ok: true; name: N; deviceId: string; payload: TopicPayload<N> };
}[TopicName];

export type DecodedFleetMessage = { ok: true; name: 'keys'; deviceId: null; payload: z.infer<typeof signedKeySetSchema> };

export type DecodeResult = DecodedMessage | DecodedFleetMessage | { ok: false; topic: string; error: string };

/**
 * Validates a received message against its topic's schema. Never throws: a bad message comes back
 * as `{ ok: false, error }` for the caller to log and drop.
 */
export function decodeMessage(topic: string, payload: Buffer | Uint8Array | string): DecodeResult {
  const parsed = parseTopic(topic);
  const fleet = topic === FLEET_TOPICS.keys.topic;
  if (!parsed && !fleet) return { ok: false, topic, error: 'unknown topic' };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { ok: false, topic, error: `payload is not JSON: ${errorMessage(err)}` };
  }
  if (fleet) {
    const r = FLEET_TOPICS.keys.schema.safeParse(json);
    if (!r.success) return { ok: false, topic, error: `payload does not match keys schema: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
    return { ok: true, name: 'keys', deviceId: null, payload: r.data };
  }
  if (!parsed) return { ok: false, topic, error: 'unknown topic' };
  const result = TOPICS[parsed.name].schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, topic, error: `payload does not match ${parsed.name} schema: ${issues}` };
  }
  const data = result.data as { deviceId?: string; signed?: { deviceId?: string } };
  const claimed = data.deviceId ?? data.signed?.deviceId;
  if (claimed !== undefined && claimed !== parsed.deviceId) {
    return { ok: false, topic, error: `payload names device ${claimed} on the topic of ${parsed.deviceId}` };
  }
  return { ok: true, name: parsed.name, deviceId: parsed.deviceId, payload: result.data } as DecodedMessage;
}

/** Validates an outgoing payload and returns the bytes to publish; throws ValidationError-like on bad data. */
export function encodeMessage<N extends TopicName>(name: N, payload: TopicInput<N>): Buffer {
  const data = TOPICS[name].schema.parse(payload);
  return Buffer.from(JSON.stringify(data), 'utf8');
}
