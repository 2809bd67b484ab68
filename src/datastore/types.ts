// The datastore contract shared by the embedded file store and the Kubernetes API store.
// It mirrors the API server's semantics (resourceVersion compare-and-swap, ordered watch,
// 410 Gone for a too-old resourceVersion) so agent code behaves the same on both.

export interface ObjectMeta {
  name: string;
  /** Only for namespaced kinds (Pod, NetworkPolicy); cluster-scoped kinds leave it unset. */
  namespace?: string;
  /** Opaque to callers; a decimal string of a store-wide monotonic counter in the file store. */
  resourceVersion?: string;
  uid?: string;
  creationTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Resource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchEvent<R extends Resource = Resource> {
  type: WatchEventType;
  /** For DELETED: the last state of the object, with the resourceVersion of the deletion. */
  object: R;
}

export interface ListResult<R extends Resource = Resource> {
  items: R[];
  /** Watch from this version to see every change after the list. */
  resourceVersion: string;
}

export interface WatchOptions {
  /** Deliver every change after this version, in order. Omitted: changes from now on. */
  resourceVersion?: string;
  namespace?: string;
}

export interface WatchHandle {
  stop(): void;
}

export interface WatchCallbacks<R extends Resource = Resource> {
  onEvent(event: WatchEvent<R>): void;
  /** Terminal: e.g. GoneError when resourceVersion is older than what the store keeps. */
  onError?(err: Error): void;
}

export interface DeleteOptions {
  /** Delete only if the object is still at this version (compare-and-swap delete). */
  resourceVersion?: string;
}

export interface Datastore {
  get<R extends Resource>(kind: string, name: string, namespace?: string): Promise<R | undefined>;
  list<R extends Resource>(kind: string, opts?: { namespace?: string }): Promise<ListResult<R>>;
  /** Fails with AlreadyExistsError. Returns the stored object with its resourceVersion. */
  create<R extends Resource>(obj: R): Promise<R>;
  /**
   * Compare-and-swap: obj.metadata.resourceVersion must equal the stored one, else ConflictError.
   * NotFoundError if absent. Returns the stored object with its new resourceVersion.
   */
  update<R extends Resource>(obj: R): Promise<R>;
  delete(kind: string, name: string, namespace?: string, opts?: DeleteOptions): Promise<void>;
  watch<R extends Resource>(kind: string, opts: WatchOptions, cb: WatchCallbacks<R>): WatchHandle;
  close(): Promise<void>;
}

export type DatastoreErrorReason =
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Unavailable';

export class DatastoreError extends Error {
  constructor(
    readonly reason: DatastoreErrorReason,
    message: string,
  ) {
    super(message);
    this.name = `${reason}Error`;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof DatastoreError && e.reason === 'NotFound';
export const isConflict = (e: unknown): boolean => e instanceof DatastoreError && e.reason === 'Conflict';
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof DatastoreError && e.reason === 'AlreadyExists';
