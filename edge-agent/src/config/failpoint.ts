import type { Logger } from '@edgeloop/shared';

/**
 * Fault injection for crash-safety tests (like gofail's failpoints): when `armed` names the point
 * reached, the process kills itself with SIGKILL, as a power cut would. Inert when unset.
 */
export function makeFailpoint(armed: string, log: Logger): (point: string) => void {
  if (!armed) return () => {};
  return (point) => {
    if (point !== armed) return;
    log.fatal({ failpoint: point }, 'failpoint reached: SIGKILL');
    process.kill(process.pid, 'SIGKILL');
  };
}
