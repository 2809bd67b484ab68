// Errors of BGP kernel sync.

/** A route handed to kernel sync is malformed; nothing was changed. */
export class KernelRouteError extends TypeError {
  override readonly name = 'KernelRouteError';
}
