// Errors of the RIB: a caller asked for something that cannot be (unknown peer, malformed local
// route). Raised before any state changes.

export class RibError extends Error {
  override readonly name = 'RibError';
  constructor(
    /** What was wrong: `peer`, `localRoutes[3].attributes`, `options.maxPaths`... */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}
