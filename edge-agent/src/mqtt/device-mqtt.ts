import mqtt, { type MqttClient } from 'mqtt';
import {
  type DecodedFleetMessage,
  type DecodedMessage,
  FLEET_TOPICS,
  decodeMessage,
  deviceTopic,
  encodeMessage,
  type Logger,
  TOPICS,
  type TopicInput,
  type TopicName,
} from '@edgeloop/shared';

export interface DeviceMqttOptions {
  url: string;
  /** CA certificate for mqtts:// to a hub with its own certificate. */
  ca?: Buffer;
  deviceId: string;
  password: string;
  keepaliveSeconds: number;
  reconnectMs: number;
  log: Logger;
  onMessage: (msg: DecodedMessage | DecodedFleetMessage) => void;
  /** Called on every (re)connect, after subscriptions are in place. */
  onConnect: () => void;
}

/**
 * The device's typed MQTT client: persistent session, QoS 1, a retained `offline` last will,
 * and every received payload validated against the topic map (invalid ones are logged and dropped).
 */
export class DeviceMqtt {
  private readonly client: MqttClient;
  private closing = false;

  constructor(private readonly o: DeviceMqttOptions) {
    this.client = mqtt.connect(o.url, {
      clientId: o.deviceId,
      username: o.deviceId,
      ...(o.ca ? { ca: o.ca } : {}),
      password: o.password,
      clean: false,
      keepalive: o.keepaliveSeconds,
      reconnectPeriod: o.reconnectMs,
      connectTimeout: 10_000,
      will: {
        topic: deviceTopic('state', o.deviceId),
        payload: encodeMessage('state', { status: 'offline', deviceId: o.deviceId }),
        qos: 1,
        retain: true,
      },
    });
    this.client.on('connect', () => {
      o.log.info('mqtt connected');
      this.client.subscribe([deviceTopic('desired', o.deviceId), deviceTopic('cmd', o.deviceId), FLEET_TOPICS.keys.topic], { qos: 1 }, (err) => {
        if (err) o.log.warn({ err: err.message }, 'mqtt subscribe failed');
        o.onConnect();
      });
    });
    this.client.on('message', (topic, payload) => {
      if (payload.length === 0) return; // a cleared retained message
      const msg = decodeMessage(topic, payload);
      if (!msg.ok) {
        o.log.warn({ topic, error: msg.error }, 'invalid mqtt payload dropped');
        return;
      }
      try {
        o.onMessage(msg);
      } catch (err) {
        o.log.error({ err, topic }, 'mqtt message handler failed');
      }
    });
    this.client.on('error', (err) => o.log.warn({ err: err.message }, 'mqtt error'));
    this.client.on('offline', () => o.log.debug('mqtt offline'));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Publishes a device topic (QoS 1). Resolves when the broker acknowledged it. */
  publish<N extends TopicName>(name: N, payload: TopicInput<N>): Promise<void> {
    if (this.closing) return Promise.reject(new Error('mqtt client is closing'));
    return this.send(name, payload);
  }

  private send<N extends TopicName>(name: N, payload: TopicInput<N>): Promise<void> {
    const spec = TOPICS[name];
    if (spec.from !== 'device') return Promise.reject(new Error(`${name} is not a device topic`));
    const bytes = encodeMessage(name, payload);
    return new Promise((resolve, reject) => {
      this.client.publish(deviceTopic(name, this.o.deviceId), bytes, { qos: 1, retain: spec.retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Says `offline` itself (the will only fires on an unclean drop), then disconnects. */
  async close(): Promise<void> {
    // From here on nothing but the final `offline` goes out: a job finishing during shutdown must
    // not report `online` after it.
    this.closing = true;
    if (this.client.connected) {
      await this.send('state', { status: 'offline', deviceId: this.o.deviceId }).catch(() => {});
    }
    await this.client.endAsync();
  }
}
