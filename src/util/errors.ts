/** Stable error codes; messages may change, codes do not. */
export type ErrorCode =
  | 'E_CONFIG_READ'
  | 'E_CONFIG_JSON'
  | 'E_CONFIG_INVALID'
  | 'E_ALGORITHM_NOT_IMPLEMENTED'
  | 'E_LISTEN';

/** An error with a stable code. */
export class BalancerError extends Error {
  /** Creates an error with a stable code. */
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BalancerError';
  }
}
