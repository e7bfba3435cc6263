/** ACME cannot start: a config field points at something unusable (the CLI reports it as a config error, exit 2). */
export class AcmeSetupError extends Error {
  /** `field`: the config path, e.g. "tls.acme.storage"; `message`: a phrase naming the file and the problem. */
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AcmeSetupError';
  }
}
