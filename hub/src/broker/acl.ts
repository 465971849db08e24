import { FLEET_TOPICS, parseTopic, TOPIC_PREFIX, TOPICS } from '@edgeloop/shared';

export type AclVerdict = { ok: true } | { ok: false; reason: string };

/**
 * The MQTT user name of admin tools, who sign in with the admin token. Not a valid device id (ids
 * start with a letter or digit), and admin client ids must start with it too, so an admin session
 * can never take over a device's session or the other way round.
 */
export const ADMIN_MQTT_USERNAME = '_admin';

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

/** Admin tools read the fleet-wide topics (keys, hub events, training progress) and publish nothing. */
export class AdminAcl {
  canPublish(topic: string): AclVerdict {
    return { ok: false, reason: `admin clients are read-only (publish on ${topic} refused)` };
  }

  canSubscribe(filter: string): AclVerdict {
    const fleet = `${TOPIC_PREFIX}/fleet/`;
    if (!filter.startsWith(fleet)) return { ok: false, reason: `admin clients may only subscribe inside ${fleet}` };
    return { ok: true };
  }
}
