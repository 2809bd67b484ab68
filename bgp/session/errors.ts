// Session errors for callers (not protocol errors: those are BgpError from the codec and become
// NOTIFICATIONs on the wire).

/** A session setting that cannot work; `field` names it. Thrown before anything starts. */
export class SessionConfigError extends Error {
  override readonly name = 'SessionConfigError';

  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** An operation that needs an Established session (sending UPDATEs, ROUTE-REFRESH) found none. */
export class SessionNotEstablishedError extends Error {
  override readonly name = 'SessionNotEstablishedError';
}
