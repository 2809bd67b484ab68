// Kubernetes Status objects (meta/v1 Status) exactly as the API server shapes its failures:
// kind Status, apiVersion v1, status Failure, a reason, the HTTP code and details naming the
// object. Messages follow the apiserver's wording (k8s.io/apimachinery/pkg/api/errors).

export interface StatusDetails {
  name?: string;
  group?: string;
  /** The resource (plural), as the apiserver puts it in details.kind. */
  kind?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

export interface ResourceRef {
  group: string;
  plural: string;
  name: string;
}

/** `pods "web"` or `ipamblocks.trellis.network "10-0-0-0-26"`: the apiserver's qualified name. */
export const qualified = (r: ResourceRef): string =>
  `${r.group === '' ? r.plural : `${r.plural}.${r.group}`} "${r.name}"`;

const failure = (code: number, reason: string, message: string, details?: StatusDetails): Status => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  ...(details === undefined ? {} : { details }),
  code,
});

/** Empty fields are left out, as Go's omitempty does (core kinds have no group). */
const detailsOf = (r: ResourceRef): StatusDetails => ({
  name: r.name,
  ...(r.group === '' ? {} : { group: r.group }),
  kind: r.plural,
});

export const notFound = (r: ResourceRef): Status =>
  failure(404, 'NotFound', `${qualified(r)} not found`, detailsOf(r));

export const alreadyExists = (r: ResourceRef): Status =>
  failure(409, 'AlreadyExists', `${qualified(r)} already exists`, detailsOf(r));

export const conflict = (r: ResourceRef, why: string): Status =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(r)}: ${why}`, detailsOf(r));

export const MODIFIED_SINCE =
  'the object has been modified; please apply your changes to the latest version and try again';

export const invalid = (r: ResourceRef, kind: string, causes: string): Status =>
  failure(422, 'Invalid', `${kind} ${JSON.stringify(r.name)} is invalid: ${causes}`, {
    ...detailsOf(r),
    kind,
  });

export const badRequest = (message: string): Status => failure(400, 'BadRequest', message);

export const methodNotAllowed = (): Status =>
  failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

export const pathNotFound = (): Status =>
  failure(404, 'NotFound', 'the server could not find the requested resource');

/** The watch cache's answer to a resourceVersion older than its window (sent as an ERROR event). */
export const expired = (requested: number, oldest: number): Status =>
  failure(410, 'Expired', `too old resource version: ${requested} (${oldest})`);

export const internalError = (message: string): Status => failure(500, 'InternalError', message);
