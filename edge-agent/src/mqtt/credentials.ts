import { existsSync, readFileSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeloopError, errorMessage, type Logger, writeJsonAtomic } from '@edgeloop/shared';
import { z } from 'zod';

const credentialsSchema = z.object({ deviceId: z.string(), password: z.string().min(1) });

/**
 * The device's MQTT secret: from configuration, else from `<dataDir>/credentials.json` (mode 0600),
 * else by spending a one-time enrolment token at the hub. The root keys the hub returns are not
 * trusted: a device trusts only the root keys of its image.
 */
export async function resolveCredentials(o: {
  deviceId: string;
  configured: string;
  enrolmentToken: string;
  hubHttpUrl: string;
  dataDir: string;
  log: Logger;
}): Promise<string> {
  if (o.configured) return o.configured;
  const file = join(o.dataDir, 'credentials.json');
  if (existsSync(file)) {
    const saved = credentialsSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (saved.success && saved.data.deviceId === o.deviceId) return saved.data.password;
    o.log.error({ file }, 'stored credentials unreadable or for another device');
  }
  if (!o.enrolmentToken) throw new EdgeloopError('no-credentials', 'no MQTT password configured, none stored and no enrolment token to get one');
  let res: Response;
  try {
    res = await fetch(`${o.hubHttpUrl.replace(/\/$/, '')}/api/v1/enrol`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: o.enrolmentToken, deviceId: o.deviceId }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    throw new EdgeloopError('enrolment', `enrolment request failed: ${errorMessage(err)}`);
  }
  const body = (await res.json().catch(() => ({}))) as { password?: string; message?: string };
  if (res.status !== 201 || !body.password) throw new EdgeloopError('enrolment', `enrolment refused (HTTP ${res.status}): ${body.message ?? 'no reason'}`);
  await writeJsonAtomic(file, { deviceId: o.deviceId, password: body.password });
  await chmod(file, 0o600);
  o.log.info({ deviceId: o.deviceId }, 'enrolled with the hub; credentials stored');
  return body.password;
}
