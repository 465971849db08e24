/**
 * Child-process entry for heavy training stages: receives one task over IPC, runs it, reports
 * progress and the result, exits. It exits too when the hub goes away (IPC disconnect), so a
 * killed hub never leaves a training running behind it.
 */
import { errorMessage } from '@edgeloop/shared';
import type { WorkerMessage, WorkerTask } from './worker.js';
import { WORKER_TASKS } from './worker-tasks.js';

const send = (m: WorkerMessage) =>
  new Promise<void>((resolve) => {
    if (!process.send) return resolve();
    process.send(m, undefined, undefined, () => resolve());
  });

process.on('disconnect', () => process.exit(70));
process.once('message', (task: WorkerTask) => {
  const fn = WORKER_TASKS[task.kind];
  const run = fn ? fn(task, { progress: (progress) => void send({ type: 'progress', progress }) }) : Promise.reject(new Error(`unknown worker task ${task.kind}`));
  run.then(
    async (output) => {
      await send({ type: 'done', output });
      process.exit(0);
    },
    async (err: unknown) => {
      await send({ type: 'failed', error: errorMessage(err) });
      process.exit(1);
    },
  );
});
