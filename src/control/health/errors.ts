import { BalancerError, type HealthErrorCode } from '../../util/errors.js';

/** An error the health modules throw; its code is one of the health codes in src/util/errors.ts. */
export class HealthError extends BalancerError {
  /** Creates an error with a stable health code. */
  constructor(
    override readonly code: HealthErrorCode,
    message: string,
  ) {
    super(code, message);
    this.name = 'HealthError';
  }
}
