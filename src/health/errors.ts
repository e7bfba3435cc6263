/** Stable codes of errors the health modules throw; messages may change, codes do not. */
export type HealthErrorCode =
  /** `start()` on a checker that was stopped: build a new one instead. */
  'E_HEALTH_STOPPED';

/** An error with a stable code, thrown by the health modules. */
export class HealthError extends Error {
  /** Creates an error with a stable code. */
  constructor(
    readonly code: HealthErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'HealthError';
  }
}
