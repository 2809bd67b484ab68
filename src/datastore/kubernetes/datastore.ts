// The Datastore contract on the Kubernetes API server. Thin by design: every operation is one
// REST request (paths.ts), the server does the compare-and-swap on metadata.resourceVersion,
// and its Status answers become the contract's typed errors (errors.ts). Our objects are
// checked with validateResource before they are sent and after they are read; an invalid
// object read in a list or watch is logged with its fields and skipped.
import { type KubeConfig, Watch } from '@kubernetes/client-node';
import { type Logger, silentLogger } from '../../log.js';
import type { KindInfo } from '../../resources/index.js';
import { validateResource } from '../../resources/index.js';
import { checkKind, checkNamespace, describeKey, keyOf, makeKey } from '../keys.js';
import {
  type Datastore,
  DatastoreError,
  type DeleteOptions,
  isNotFound,
  type ListResult,
  type Resource,
  type WatchCallbacks,
  type WatchHandle,
  type WatchOptions,
} from '../types.js';
import { type BackoffPolicy, DEFAULT_BACKOFF } from './backoff.js';
import { type ApiServerSource, loadKubeConfig } from './config.js';
import { decodeObject, logSkipped } from './decode.js';
import { restPath, servedKind } from './paths.js';
import { RestClient } from './rest.js';
import { ResumingWatch } from './watch.js';

export interface KubernetesDatastoreOptions {
  logger?: Logger;
  /** Per request; a slower answer is Unavailable. Default 30 s. */
  requestTimeoutMs?: number;
  /** Watch reconnect delays. */
  backoff?: Partial<BackoffPolicy>;
}

interface ListBody {
  metadata?: { resourceVersion?: string };
  items?: unknown[];
}

export class KubernetesDatastore implements Datastore {
  private readonly rest: RestClient;
  private readonly watcher: Watch;
  private readonly log: Logger;
  private readonly backoff: BackoffPolicy;
  private readonly watches = new Set<WatchHandle>();
  private closed = false;

  constructor(kubeConfig: KubeConfig, opts: KubernetesDatastoreOptions = {}) {
    this.rest = new RestClient(kubeConfig, opts.requestTimeoutMs ?? 30_000);
    this.watcher = new Watch(kubeConfig);
    this.log = (opts.logger ?? silentLogger).child({ component: 'datastore', backend: 'kubernetes' });
    this.backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
  }

  static connect(source: ApiServerSource, opts: KubernetesDatastoreOptions = {}): KubernetesDatastore {
    return new KubernetesDatastore(loadKubeConfig(source), opts);
  }

  async get<R extends Resource>(kind: string, name: string, namespace?: string): Promise<R | undefined> {
    const key = makeKey(kind, name, namespace);
    const info = servedKind(key.kind);
    this.assertOpen();
    let raw: unknown;
    try {
      raw = await this.rest.request({
        method: 'GET',
        path: restPath(info, key.namespace, key.name),
        what: `get ${describeKey(key)}`,
      });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    // A single object asked for by name: its invalidity is the caller's answer, not a skip.
    return this.decodeOrThrow(info, raw) as R;
  }

  async list<R extends Resource>(kind: string, opts: { namespace?: string } = {}): Promise<ListResult<R>> {
    const info = servedKind(checkKind(kind));
    const namespace = checkNamespace(opts.namespace);
    this.assertOpen();
    const body = (await this.rest.request({
      method: 'GET',
      path: restPath(info, namespace),
      what: `list ${info.plural}`,
    })) as ListBody;
    const items: R[] = [];
    for (const raw of body.items ?? []) {
      const decoded = decodeObject(info, raw);
      if ('invalid' in decoded) logSkipped(this.log, decoded.invalid, 'list');
      else items.push(decoded.ok as R);
    }
    return { items, resourceVersion: versionOfList(body, info) };
  }

  async create<R extends Resource>(obj: R): Promise<R> {
    const key = keyOf(obj);
    if (obj.metadata.resourceVersion !== undefined) {
      throw new DatastoreError('Invalid', `${describeKey(key)}: resourceVersion must not be set on create`);
    }
    const info = servedKind(key.kind);
    const body = validateResource(obj);
    this.assertOpen();
    const raw = await this.rest.request({
      method: 'POST',
      path: restPath(info, key.namespace),
      body,
      what: `create ${describeKey(key)}`,
    });
    return this.decodeOrThrow(info, raw) as R;
  }

  async update<R extends Resource>(obj: R): Promise<R> {
    const key = keyOf(obj);
    const rv = obj.metadata.resourceVersion;
    if (typeof rv !== 'string' || rv === '') {
      throw new DatastoreError('Invalid', `${describeKey(key)}: update needs metadata.resourceVersion (CAS)`);
    }
    const info = servedKind(key.kind);
    // The CAS precondition is the caller's, whatever defaulting does to metadata.
    const valid = validateResource(obj);
    const body = { ...valid, metadata: { ...valid.metadata, resourceVersion: rv } };
    this.assertOpen();
    const raw = await this.rest.request({
      method: 'PUT',
      path: restPath(info, key.namespace, key.name),
      body,
      what: `update ${describeKey(key)}`,
    });
    return this.decodeOrThrow(info, raw) as R;
  }

  async delete(kind: string, name: string, namespace?: string, opts: DeleteOptions = {}): Promise<void> {
    const key = makeKey(kind, name, namespace);
    const info = servedKind(key.kind);
    if (
      opts.resourceVersion !== undefined &&
      (typeof opts.resourceVersion !== 'string' || opts.resourceVersion === '')
    ) {
      throw new DatastoreError(
        'Invalid',
        `${describeKey(key)}: delete precondition resourceVersion must be non-empty`,
      );
    }
    this.assertOpen();
    await this.rest.request({
      method: 'DELETE',
      path: restPath(info, key.namespace, key.name),
      body: {
        kind: 'DeleteOptions',
        apiVersion: 'v1',
        ...(opts.resourceVersion === undefined
          ? {}
          : { preconditions: { resourceVersion: opts.resourceVersion } }),
      },
      what: `delete ${describeKey(key)}`,
    });
  }

  watch<R extends Resource>(kind: string, opts: WatchOptions, cb: WatchCallbacks<R>): WatchHandle {
    const info = servedKind(checkKind(kind));
    const namespace = checkNamespace(opts.namespace);
    if (
      opts.resourceVersion !== undefined &&
      (typeof opts.resourceVersion !== 'string' || opts.resourceVersion === '')
    ) {
      throw new DatastoreError('Invalid', `watch ${kind}: resourceVersion must be a non-empty string`);
    }
    this.assertOpen();
    const path = restPath(info, namespace);
    const w: ResumingWatch<R> = new ResumingWatch<R>(
      {
        watcher: this.watcher,
        info,
        path,
        from: opts.resourceVersion,
        currentVersion: () => this.currentVersion(info, path),
        backoff: this.backoff,
        log: this.log.child({ watch: info.plural, ...(namespace === undefined ? {} : { namespace }) }),
        onStop: () => this.watches.delete(w),
      },
      cb,
    );
    this.watches.add(w);
    w.start();
    return w;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of [...this.watches]) w.stop();
  }

  /** The collection's current version, to watch "from now on": one item is enough to learn it. */
  private async currentVersion(info: KindInfo, path: string): Promise<string> {
    const body = (await this.rest.request({
      method: 'GET',
      path,
      query: { limit: '1' },
      what: `list ${info.plural}`,
    })) as ListBody;
    return versionOfList(body, info);
  }

  private decodeOrThrow(info: KindInfo, raw: unknown): Resource {
    const decoded = decodeObject(info, raw);
    if ('invalid' in decoded) throw decoded.invalid;
    return decoded.ok;
  }

  private assertOpen(): void {
    if (this.closed) throw new DatastoreError('Unavailable', 'kubernetes datastore is closed');
  }
}

function versionOfList(body: ListBody, info: KindInfo): string {
  const rv = body.metadata?.resourceVersion;
  if (typeof rv !== 'string' || rv === '') {
    throw new DatastoreError(
      'Unavailable',
      `list ${info.plural}: the answer has no metadata.resourceVersion`,
    );
  }
  return rv;
}
