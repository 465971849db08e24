import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import {
  decodeMessage,
  type DecodedMessage,
  deviceTopic,
  encodeMessage,
  FLEET_TOPICS,
  type FleetTopicName,
  type Logger,
  TOPIC_PREFIX,
  TOPICS,
  type TopicInput,
  type TopicName,
  parseTopic,
} from '@edgeloop/shared';
import { ADMIN_MQTT_USERNAME, AdminAcl, DeviceAcl } from './acl.js';

export interface DeviceAuthenticator {
  /** Returns true when `password` is the current credential of the enrolled, unrevoked device `deviceId`. */
  authenticate(deviceId: string, password: string): boolean;
}

export interface BrokerOptions {
  /** Certificate and key: MQTT over TLS. */
  tls?: { cert: Buffer; key: Buffer } | null;
  host: string;
  port: number;
  log: Logger;
  devices: DeviceAuthenticator;
  /** The admin token: admin tools then sign in as `_admin` (client id `_admin…`) and read the fleet topics. */
  adminToken?: string | null;
  /**
   * Called with batches of valid device messages before the broker acknowledges them (QoS 1), so
   * what the hub stores synchronously here is never lost once the device drops it from its outbox.
   * Messages arriving within the same few milliseconds are handed over together (group commit).
   */
  onDeviceMessages: (batch: DecodedMessage[]) => void;
  /** How long a message may wait for others to join its batch. */
  batchWindowMs?: number;
}

/** The embedded aedes broker: authenticates devices and confines each to its own topics. */
export class HubBroker {
  private constructor(
    private readonly aedes: Aedes,
    private readonly server: Server,
    private readonly log: Logger,
  ) {}

  static async start(opts: BrokerOptions): Promise<HubBroker> {
    const log = opts.log;
    const acl = new DeviceAcl();
    const adminAcl = new AdminAcl();
    const admins = new WeakSet<Client>();
    const isAdminToken = secretMatcher(opts.adminToken ?? null);
    const intake = new GroupCommit(opts.onDeviceMessages, opts.batchWindowMs ?? 2, log);
    const aedes = await Aedes.createBroker({
      id: 'edgeloop-hub',
      authenticate: (client, username, password, done) => {
        const user = username ?? '';
        const secret = password?.toString('utf8') ?? '';
        const admin = user === ADMIN_MQTT_USERNAME;
        const ok = admin
          ? client.id.startsWith(ADMIN_MQTT_USERNAME) && isAdminToken(secret)
          : user !== '' && client.id === user && opts.devices.authenticate(user, secret);
        if (!ok) {
          log.warn({ clientId: client.id, username: user }, 'mqtt connection refused: bad credentials');
          const err = Object.assign(new Error('bad username or password'), { returnCode: 4 as const });
          return done(err, false);
        }
        if (admin) admins.add(client);
        done(null, true);
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        const verdict = admins.has(client) ? adminAcl.canPublish(packet.topic) : acl.canPublish(client.id, packet.topic);
        if (!verdict.ok) {
          log.warn({ clientId: client.id, topic: packet.topic, reason: verdict.reason }, 'mqtt publish refused');
          return done(new Error(verdict.reason));
        }
        const decoded = decodeMessage(packet.topic, packet.payload);
        if (!decoded.ok) {
          // Dropped, not fatal: the device stays connected and the hub keeps running.
          log.warn({ clientId: client.id, topic: packet.topic, error: decoded.error }, 'invalid mqtt payload dropped');
          return done(null);
        }
        if (decoded.deviceId === null) return done(new Error('devices may not publish fleet topics'));
        intake.push(decoded, done);
      },
      authorizeSubscribe: (client, sub, done) => {
        const verdict = admins.has(client) ? adminAcl.canSubscribe(sub.topic) : acl.canSubscribe(client.id, sub.topic);
        if (!verdict.ok) {
          log.warn({ clientId: client.id, topic: sub.topic, reason: verdict.reason }, 'mqtt subscribe refused');
          return done(null, null);
        }
        done(null, sub);
      },
    });
    aedes.on('clientError', (client: Client, err: Error) => log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
    const server = opts.tls ? createTlsServer(opts.tls, aedes.handle) : createServer(aedes.handle);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => resolve());
    });
    return new HubBroker(aedes, server, log);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get connectedClients(): number {
    return this.aedes.connectedClients;
  }

  /** Publishes a hub → device message, validated against the topic map. */
  async publish<N extends TopicName>(name: N, deviceId: string, payload: TopicInput<N>): Promise<void> {
    const spec = TOPICS[name];
    if (spec.from !== 'hub') throw new Error(`${name} is not a hub topic`);
    const bytes = encodeMessage(name, payload);
    await new Promise<void>((resolve, reject) => {
      this.aedes.publish(
        { cmd: 'publish', topic: deviceTopic(name, deviceId), payload: bytes, qos: 1, retain: spec.retain, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  /** Publishes a fleet-wide topic (retained as the topic map says). */
  async publishFleet(name: FleetTopicName, payload: unknown): Promise<void> {
    const spec = FLEET_TOPICS[name];
    const bytes = Buffer.from(JSON.stringify(spec.schema.parse(payload)), 'utf8');
    await new Promise<void>((resolve, reject) => {
      this.aedes.publish({ cmd: 'publish', topic: spec.topic, payload: bytes, qos: 1, retain: spec.retain, dup: false }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Disconnects a device's client (after its credentials were revoked). */
  disconnect(deviceId: string): void {
    const client = (this.aedes as unknown as { clients: Record<string, { close(): void } | undefined> }).clients[deviceId];
    client?.close();
  }

  /** Clears a retained message (e.g. a removed device's desired state). */
  async clearRetained(name: TopicName, deviceId: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.aedes.publish(
        { cmd: 'publish', topic: deviceTopic(name, deviceId), payload: Buffer.alloc(0), qos: 1, retain: true, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.aedes.close(() => resolve()));
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.log.debug('broker closed');
  }
}

/** A constant-time check against a secret; with no secret nothing matches. */
function secretMatcher(secret: string | null): (given: string) => boolean {
  if (!secret) return () => false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  const expected = digest(secret);
  return (given) => timingSafeEqual(digest(given), expected);
}

/** Collects messages for a few milliseconds, stores them in one go, then acknowledges each. */
class GroupCommit {
  private batch: { msg: DecodedMessage; done: (err?: Error | null) => void }[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: (batch: DecodedMessage[]) => void,
    private readonly windowMs: number,
    private readonly log: Logger,
  ) {}

  push(msg: DecodedMessage, done: (err?: Error | null) => void): void {
    this.batch.push({ msg, done });
    this.timer ??= setTimeout(() => this.flush(), this.windowMs);
  }

  private flush(): void {
    this.timer = null;
    const batch = this.batch;
    this.batch = [];
    try {
      this.store(batch.map((b) => b.msg));
    } catch (err) {
      this.log.error({ err, messages: batch.length }, 'storing device messages failed; not acknowledged');
      for (const b of batch) b.done(err as Error);
      return;
    }
    for (const b of batch) b.done(null);
  }
}

export { parseTopic, TOPIC_PREFIX };
