// The stand-in's "etcd": objects, one monotonic resourceVersion for the whole store, and a
// bounded history of changes for watchers to resume from (older positions get 410 Expired,
// like the watch cache). Operations return the stored object or the Status the apiserver sends.
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { KindInfo } from '../../src/resources/index.js';
import type { Route } from './routes.js';
import * as status from './status.js';

export type WireObject = {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    creationTimestamp?: string;
    generation?: number;
    [k: string]: unknown;
  };
  spec?: unknown;
  [k: string]: unknown;
};

export interface StoredEvent {
  rv: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  info: KindInfo;
  object: WireObject;
}

export type Outcome = { ok: WireObject } | { fail: status.Status };

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DECIMAL = /^[0-9]+$/;

const keyOf = (info: KindInfo, namespace: string | undefined, name: string): string =>
  `${info.apiVersion}|${info.plural}|${namespace ?? ''}|${name}`;

const refOf = (route: Route, name: string): status.ResourceRef => ({
  group: route.group,
  plural: route.info.plural,
  name,
});

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Everything in an object the client may change, i.e. all but the server-owned metadata. */
const userContent = (o: WireObject): unknown => {
  const { resourceVersion: _rv, uid: _uid, creationTimestamp: _ct, generation: _g, ...meta } = o.metadata;
  return { ...o, metadata: meta };
};

export class ObjectStore {
  rv = 0;
  /** Changes up to and including this version are no longer in the history. */
  compactedThrough = 0;
  readonly history: StoredEvent[] = [];
  private readonly objects = new Map<string, WireObject>();

  constructor(
    private readonly historyLimit: number,
    private readonly onEvent: (e: StoredEvent) => void,
  ) {}

  list(info: KindInfo, namespace: string | undefined): WireObject[] {
    return [...this.objects.values()]
      .filter((o) => o.apiVersion === info.apiVersion && o.kind === info.kind)
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .sort((a, b) =>
        `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
        ),
      )
      .map((o) => structuredClone(o));
  }

  get(route: Route, name: string): Outcome {
    const cur = this.objects.get(keyOf(route.info, route.namespace, name));
    return cur === undefined ? { fail: status.notFound(refOf(route, name)) } : { ok: structuredClone(cur) };
  }

  create(route: Route, body: unknown): Outcome {
    const checked = this.checkBody(route, body, undefined);
    if ('fail' in checked) return checked;
    const obj = checked.ok;
    if (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== '') {
      // etcd3 storage refuses this as an internal error, not a validation one.
      return { fail: status.internalError('resourceVersion should not be set on objects to be created') };
    }
    const key = keyOf(route.info, route.namespace, obj.metadata.name);
    if (this.objects.has(key)) return { fail: status.alreadyExists(refOf(route, obj.metadata.name)) };
    const stored: WireObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: randomUUID(),
        creationTimestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        generation: 1,
      },
    };
    delete stored.metadata.resourceVersion;
    return { ok: this.commit('ADDED', route.info, key, stored) };
  }

  update(route: Route, name: string, body: unknown): Outcome {
    const checked = this.checkBody(route, body, name);
    if ('fail' in checked) return checked;
    const obj = checked.ok;
    const key = keyOf(route.info, route.namespace, name);
    const cur = this.objects.get(key);
    if (cur === undefined) return { fail: status.notFound(refOf(route, name)) };
    const rv = obj.metadata.resourceVersion;
    if (rv === undefined || rv === '') {
      // Custom resources refuse unconditional updates; built-in kinds we serve allow them.
      if (route.group !== '' && route.group !== 'networking.k8s.io') {
        return {
          fail: status.invalid(
            refOf(route, name),
            route.info.kind,
            'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update',
          ),
        };
      }
    } else if (!DECIMAL.test(rv)) {
      return { fail: status.badRequest(`invalid resource version: ${JSON.stringify(rv)}`) };
    } else if (rv !== cur.metadata.resourceVersion) {
      return { fail: status.conflict(refOf(route, name), status.MODIFIED_SINCE) };
    }
    if (obj.metadata.uid !== undefined && obj.metadata.uid !== cur.metadata.uid) {
      return {
        fail: status.conflict(
          refOf(route, name),
          `Precondition failed: UID in precondition: ${obj.metadata.uid}, UID in object meta: ${cur.metadata.uid}`,
        ),
      };
    }
    const next: WireObject = {
      ...obj,
      metadata: {
        ...obj.metadata,
        uid: cur.metadata.uid!,
        creationTimestamp: cur.metadata.creationTimestamp!,
        generation: (cur.metadata.generation ?? 1) + (isDeepStrictEqual(obj.spec, cur.spec) ? 0 : 1),
      },
    };
    // Like the apiserver, an update that changes nothing is not written and keeps its version.
    if (isDeepStrictEqual(userContent(next), userContent(cur))) return { ok: structuredClone(cur) };
    return { ok: this.commit('MODIFIED', route.info, key, next) };
  }

  delete(route: Route, name: string, options: unknown): Outcome {
    const key = keyOf(route.info, route.namespace, name);
    const cur = this.objects.get(key);
    if (cur === undefined) return { fail: status.notFound(refOf(route, name)) };
    const pre = isObject(options) && isObject(options['preconditions']) ? options['preconditions'] : {};
    const wantRv = pre['resourceVersion'];
    if (typeof wantRv === 'string' && wantRv !== cur.metadata.resourceVersion) {
      return {
        fail: status.conflict(
          refOf(route, name),
          `Precondition failed: ResourceVersion in precondition: ${wantRv}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`,
        ),
      };
    }
    const wantUid = pre['uid'];
    if (typeof wantUid === 'string' && wantUid !== cur.metadata.uid) {
      return {
        fail: status.conflict(
          refOf(route, name),
          `Precondition failed: UID in precondition: ${wantUid}, UID in object meta: ${cur.metadata.uid}`,
        ),
      };
    }
    this.commit('DELETED', route.info, key, cur);
    return { ok: structuredClone(cur) };
  }

  /** Stores an object as is, bypassing every check: for tests that need a bad object "in etcd". */
  inject(info: KindInfo, obj: WireObject): WireObject {
    const key = keyOf(info, obj.metadata.namespace, obj.metadata.name);
    return this.commit(this.objects.has(key) ? 'MODIFIED' : 'ADDED', info, key, structuredClone(obj));
  }

  /** Events after `from` for this kind (and namespace), or the Expired status if they are gone. */
  eventsAfter(info: KindInfo, namespace: string | undefined, from: number): StoredEvent[] | status.Status {
    if (from < this.compactedThrough) return status.expired(from, this.compactedThrough + 1);
    return this.history.filter((e) => e.rv > from && matches(e, info, namespace));
  }

  /** Forgets the whole history: every resume position before now becomes too old. */
  compact(): void {
    this.history.length = 0;
    this.compactedThrough = this.rv;
  }

  private commit(type: StoredEvent['type'], info: KindInfo, key: string, obj: WireObject): WireObject {
    this.rv += 1;
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv) } };
    if (type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, stored);
    const event: StoredEvent = { rv: this.rv, type, info, object: structuredClone(stored) };
    this.history.push(event);
    while (this.history.length > this.historyLimit) this.compactedThrough = this.history.shift()!.rv;
    this.onEvent(event);
    return structuredClone(stored);
  }

  /** The apiserver's request checks before storage: type meta, name, namespace match. */
  private checkBody(route: Route, body: unknown, pathName: string | undefined): Outcome {
    if (!isObject(body) || !isObject(body['metadata'])) {
      return { fail: status.badRequest('the body of the request was in an unknown format') };
    }
    const obj = body as WireObject;
    const { info } = route;
    if (obj.kind !== info.kind || obj.apiVersion !== info.apiVersion) {
      return {
        fail: status.badRequest(
          `the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${info.apiVersion}) or kind (${String(obj.kind)}) is not ${info.kind}`,
        ),
      };
    }
    const name = obj.metadata.name;
    if (pathName !== undefined && name !== pathName) {
      return { fail: status.badRequest('the name of the object does not match the name on the URL') };
    }
    if (info.namespaced) {
      if (obj.metadata.namespace === undefined) obj.metadata.namespace = route.namespace;
      else if (obj.metadata.namespace !== route.namespace) {
        return {
          fail: status.badRequest(
            'the namespace of the provided object does not match the namespace sent on the request',
          ),
        };
      }
    } else {
      delete obj.metadata.namespace;
    }
    if (typeof name !== 'string' || name === '' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
      const ref = refOf(route, typeof name === 'string' ? name : '');
      const why =
        typeof name !== 'string' || name === ''
          ? 'metadata.name: Required value: name or generateName is required'
          : `metadata.name: Invalid value: ${JSON.stringify(name)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`;
      return { fail: status.invalid(ref, info.kind, why) };
    }
    return { ok: structuredClone(obj) };
  }
}

export const matches = (e: StoredEvent, info: KindInfo, namespace: string | undefined): boolean =>
  e.info === info && (namespace === undefined || e.object.metadata.namespace === namespace);
