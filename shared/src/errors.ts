/** Typed errors shared by hub and agent. `code` is stable and machine readable. */
export class EdgeloopError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }
}

/** Input that does not match its schema (HTTP body, MQTT payload, config, file). */
export class ValidationError extends EdgeloopError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('invalid-input', message, details);
  }
}

export type SignatureFailure = 'unknown-key' | 'bad-signature' | 'revoked-key' | 'expired' | 'bad-certificate';

/** A signature, key or expiry check failed: nothing signed this way may be used. */
export class SignatureError extends EdgeloopError {
  readonly reason: SignatureFailure;
  constructor(reason: SignatureFailure, message: string, details?: Record<string, unknown>) {
    super(`signature-${reason}`, message, details);
    this.reason = reason;
  }
}

/** Downloaded or stored bytes do not match their declared hash or size. */
export class IntegrityError extends EdgeloopError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('integrity', message, details);
  }
}

export class NotFoundError extends EdgeloopError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('not-found', message, details);
  }
}

export class ConflictError extends EdgeloopError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('conflict', message, details);
  }
}

export class UnauthorizedError extends EdgeloopError {
  constructor(message = 'authentication required') {
    super('unauthorized', message);
  }
}

export class ForbiddenError extends EdgeloopError {
  constructor(message = 'forbidden') {
    super('forbidden', message);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The one mapping from typed errors to HTTP status codes, used by every HTTP API. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof ValidationError) return 400;
  if (err instanceof UnauthorizedError) return 401;
  if (err instanceof ForbiddenError) return 403;
  if (err instanceof NotFoundError) return 404;
  if (err instanceof ConflictError) return 409;
  if (err instanceof SignatureError || err instanceof IntegrityError) return 422;
  if (err instanceof UnavailableError) return 503;
  const status = (err as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 600) return status;
  return 500;
}

/** The service cannot answer right now (no model loaded yet, shutting down). */
export class UnavailableError extends EdgeloopError {
  constructor(message: string) {
    super('unavailable', message);
  }
}
