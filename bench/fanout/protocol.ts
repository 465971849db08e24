// IPC messages between the fanout bench (which hosts the hub) and its simulated-device workers.

export interface SimDeviceCredentials {
  id: string;
  password: string;
  branch: string;
}

export type ToWorker =
  | {
      type: 'start';
      devices: SimDeviceCredentials[];
      mqttUrl: string;
      httpUrl: string;
      trustPem: string[];
      /** Downloads this worker runs at once (its devices beyond that wait for a slot). */
      downloadConcurrency: number;
    }
  /** Start of the measured phase: the worker takes its CPU baseline and answers `marked`. */
  | { type: 'mark' }
  /** End of the measured phase: the worker answers `report`. */
  | { type: 'report' }
  | { type: 'stop' };

export interface WorkerReport {
  /** CPU the worker used since `mark`, in seconds (user + system). */
  cpuSeconds: number;
  /** Artifact bytes received and checked (sha256 and size) since `mark`. */
  downloadedBytes: number;
  downloads: number;
  downloadRetries: number;
  /** Desired states (and manifests) refused by verification: should stay 0. */
  refused: number;
  failed: number;
  /** MQTT reconnections after the first connect (whole run): should stay 0 on loopback. */
  reconnects: number;
  /** Wall-clock times (Date.now()) at which a device's `active` report for a new version was acknowledged by the hub. */
  activatedAt: number[];
}

export type FromWorker =
  | { type: 'up' }
  | { type: 'connected'; devices: number; seconds: number }
  | { type: 'progress'; active: number; downloading: number; downloadedBytes: number }
  | { type: 'marked' }
  | ({ type: 'report' } & WorkerReport)
  | { type: 'error'; message: string };
