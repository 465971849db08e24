import { FLEET_TOPICS, parseTopic, TOPIC_PREFIX, TOPICS } from '@edgeloop/shared';

export type AclVerdict = { ok: true } | { ok: false; reason: string };

/**
 * Per-device topic rules: a device publishes only device-origin topics under its own id and
 * subscribes only inside its own subtree. Pure, so it is unit-tested apart from the broker.
 */
export class DeviceAcl {
  canPublish(clientId: string, topic: string): AclVerdict {
    const parsed = parseTopic(topic);
    if (!parsed) return { ok: false, reason: `topic ${topic} is not an edgeloop device topic` };
    if (parsed.deviceId !== clientId) return { ok: false, reason: `device ${clientId} may not publish as ${parsed.deviceId}` };
    if (TOPICS[parsed.name].from !== 'device') return { ok: false, reason: `devices may not publish on ${parsed.name}` };
    return { ok: true };
  }

  canSubscribe(clientId: string, filter: string): AclVerdict {
    if (filter === FLEET_TOPICS.keys.topic) return { ok: true };
    const own = `${TOPIC_PREFIX}/devices/${clientId}/`;
    if (!filter.startsWith(own)) return { ok: false, reason: `device ${clientId} may only subscribe inside ${own}` };
    return { ok: true };
  }
}
