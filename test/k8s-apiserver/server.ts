// A STAND-IN for kube-apiserver, for tests only. No real API server can be installed on this
// machine, so this speaks the Kubernetes REST protocol for exactly the requests our datastore
// makes: list, get, create, update (PUT, compare-and-swap on metadata.resourceVersion), delete
// (with preconditions) and watch (chunked JSON lines, resourceVersion resume, BOOKMARK events,
// 410 Expired as an ERROR event). Status objects and messages follow the apiserver's. It does
// NOT do authentication, admission, CRD schema validation, field/label selectors, paging,
// PATCH, server-side apply, finalizers or graceful deletion; docs/kubernetes-datastore.md lists
// what that means for the tests. Loopback only, on a random port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { allKinds, type KindInfo } from '../../src/resources/index.js';
import { parseRoute, type Route } from './routes.js';
import * as status from './status.js';
import { matches, ObjectStore, type StoredEvent, type WireObject } from './store.js';

export interface StandInOptions {
  /** Changes kept for watch resume; older positions get 410 Expired. Default 1000. */
  historyLimit?: number;
  /** How often open watches that asked for bookmarks get one. Default 500 ms. */
  bookmarkMs?: number;
}

interface OpenWatch {
  info: KindInfo;
  namespace: string | undefined;
  res: ServerResponse;
  bookmarks: boolean;
}

/** Requests served, by verb: lets tests see re-lists and reconnects. */
export interface RequestCounts {
  list: number;
  watch: number;
  get: number;
  create: number;
  update: number;
  delete: number;
}

export type Verb = keyof RequestCounts;

export class ApiServerStandIn {
  readonly counts: RequestCounts = { list: 0, watch: 0, get: 0, create: 0, update: 0, delete: 0 };
  /** Failure answers sent, by Status reason (Conflict, AlreadyExists, NotFound...). */
  readonly failures: Record<string, number> = {};
  /** Added to every request before it is served. */
  latencyMs = 0;
  private readonly store: ObjectStore;
  private readonly watches = new Set<OpenWatch>();
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private readonly bookmarkTimer: NodeJS.Timeout;
  private forcedExpiry = 0;
  private readonly injectedConflicts: { kind: string | undefined; left: number }[] = [];
  private port = 0;
  private listening = false;

  private constructor(opts: StandInOptions) {
    this.store = new ObjectStore(opts.historyLimit ?? 1000, (e) => this.broadcast(e));
    this.server = createServer((req, res) => void this.serve(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.bookmarkTimer = setInterval(() => this.sendBookmarks(), opts.bookmarkMs ?? 500);
  }

  static async start(opts: StandInOptions = {}): Promise<ApiServerStandIn> {
    const s = new ApiServerStandIn(opts);
    await s.listen();
    return s;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The store's current resourceVersion. */
  get resourceVersion(): string {
    return String(this.store.rv);
  }

  /** The API server goes away: no more connections, every open one (watches too) dropped. */
  async goAway(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Back on the same port, with the same objects (etcd kept them). */
  async comeBack(): Promise<void> {
    if (!this.listening) await this.listen();
  }

  /** The next `count` watch requests get a 410 Expired ERROR event, whatever their resourceVersion. */
  forceExpiredOnNextWatch(count = 1): void {
    this.forcedExpiry += count;
  }

  /** The next `count` updates (PUT) of `kind` (any kind if undefined) fail with 409 Conflict. */
  injectConflicts(count: number, kind?: string): void {
    this.injectedConflicts.push({ kind, left: count });
  }

  /** Forgets the change history: every watch position before now becomes too old (410). */
  compact(): void {
    this.store.compact();
  }

  /** Puts an object into storage as is, bypassing every check, as if written by something else. */
  inject(obj: WireObject): WireObject {
    const info = allKinds.find((k) => k.apiVersion === obj.apiVersion && k.kind === obj.kind);
    if (info === undefined) throw new Error(`stand-in does not serve ${obj.apiVersion} ${obj.kind}`);
    return this.store.inject(info, obj);
  }

  /** Deletes an object in storage directly, as another API server replica would. */
  remove(apiVersion: string, kind: string, name: string, namespace?: string): void {
    const info = allKinds.find((k) => k.apiVersion === apiVersion && k.kind === kind);
    if (info === undefined) throw new Error(`stand-in does not serve ${apiVersion} ${kind}`);
    const route: Route = { info, group: apiVersion.includes('/') ? apiVersion.split('/')[0]! : '' };
    if (namespace !== undefined) route.namespace = namespace;
    const outcome = this.store.delete(route, name, {});
    if ('fail' in outcome) throw new Error(outcome.fail.message);
  }

  /** Ends every open watch stream, as the apiserver does on its watch timeout or a rolling restart. */
  dropWatches(): void {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
  }

  /** Number of watch connections open right now. */
  get openWatches(): number {
    return this.watches.size;
  }

  async close(): Promise<void> {
    clearInterval(this.bookmarkTimer);
    await this.goAway();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const body = await readBody(req);
      if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const route = parseRoute(url.pathname, allKinds);
      if (route === undefined) return send(res, status.pathNotFound());
      const method = req.method ?? 'GET';
      if (route.name === undefined) {
        if (method === 'GET') {
          const watch = url.searchParams.get('watch');
          return watch === 'true' || watch === '1' ? this.watch(route, url, res) : this.list(route, res);
        }
        if (method === 'POST') return this.count('create', res, this.store.create(route, parse(body)), 201);
        return send(res, status.methodNotAllowed());
      }
      const name = route.name;
      if (method === 'GET') return this.count('get', res, this.store.get(route, name));
      if (method === 'PUT') {
        const forced = this.takeInjectedConflict(route.info.kind);
        const ref = { group: route.group, plural: route.info.plural, name };
        if (forced) return this.count('update', res, { fail: status.conflict(ref, status.MODIFIED_SINCE) });
        return this.count('update', res, this.store.update(route, name, parse(body)));
      }
      if (method === 'DELETE') {
        return this.count('delete', res, this.store.delete(route, name, body === '' ? {} : parse(body)));
      }
      return send(res, status.methodNotAllowed());
    } catch (e) {
      if (e instanceof BodyError) return send(res, status.badRequest(e.message));
      return send(res, status.internalError(String(e)));
    }
  }

  private count(verb: Verb, res: ServerResponse, outcome: ReturnType<ObjectStore['get']>, okCode = 200) {
    this.counts[verb] += 1;
    if ('fail' in outcome) {
      this.failures[outcome.fail.reason] = (this.failures[outcome.fail.reason] ?? 0) + 1;
      return send(res, outcome.fail);
    }
    return send(res, outcome.ok, okCode);
  }

  private list(route: Route, res: ServerResponse): void {
    this.counts.list += 1;
    const items = this.store.list(route.info, route.namespace).map((o) => listItem(route.info, o));
    send(res, {
      kind: `${route.info.kind}List`,
      apiVersion: route.info.apiVersion,
      metadata: { resourceVersion: this.resourceVersion },
      items,
    });
  }

  private watch(route: Route, url: URL, res: ServerResponse): void {
    this.counts.watch += 1;
    const rvParam = url.searchParams.get('resourceVersion') ?? '';
    if (rvParam !== '' && !/^[0-9]+$/.test(rvParam)) {
      send(res, status.badRequest(`invalid resource version: ${JSON.stringify(rvParam)}`));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    if (this.forcedExpiry > 0) {
      this.forcedExpiry -= 1;
      writeEvent(res, 'ERROR', status.expired(Number(rvParam || 0), this.store.compactedThrough + 1));
      res.end();
      return;
    }
    // Unset or "0": start from the current state, sent as synthetic ADDED events.
    const backlog: { type: string; object: WireObject }[] =
      rvParam === '' || rvParam === '0'
        ? this.store.list(route.info, route.namespace).map((object) => ({ type: 'ADDED', object }))
        : [];
    if (backlog.length === 0 && rvParam !== '' && rvParam !== '0') {
      const replay = this.store.eventsAfter(route.info, route.namespace, Number(rvParam));
      if (!Array.isArray(replay)) {
        writeEvent(res, 'ERROR', replay);
        res.end();
        return;
      }
      for (const e of replay) backlog.push({ type: e.type, object: e.object });
    }
    for (const e of backlog) writeEvent(res, e.type, e.object);
    const w: OpenWatch = {
      info: route.info,
      namespace: route.namespace,
      res,
      bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true',
    };
    this.watches.add(w);
    const timeout = Number(url.searchParams.get('timeoutSeconds') ?? 0);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    res.on('close', () => {
      clearTimeout(timer);
      this.watches.delete(w);
    });
  }

  private broadcast(e: StoredEvent): void {
    for (const w of this.watches) {
      if (matches(e, w.info, w.namespace)) writeEvent(w.res, e.type, e.object);
    }
  }

  private sendBookmarks(): void {
    for (const w of this.watches) {
      if (!w.bookmarks) continue;
      writeEvent(w.res, 'BOOKMARK', {
        kind: w.info.kind,
        apiVersion: w.info.apiVersion,
        metadata: { resourceVersion: this.resourceVersion },
      });
    }
  }

  private takeInjectedConflict(kind: string): boolean {
    const entry = this.injectedConflicts.find((c) => c.left > 0 && (c.kind === undefined || c.kind === kind));
    if (entry === undefined) return false;
    entry.left -= 1;
    return true;
  }
}

class BodyError extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    throw new BodyError('the body of the request was in an unknown format');
  }
}

/** Built-in kinds' typed lists (PodList...) leave kind and apiVersion out of their items. */
function listItem(info: KindInfo, o: WireObject): WireObject {
  if (info.apiVersion.startsWith('trellis.network/')) return o;
  const { kind: _k, apiVersion: _a, ...rest } = o;
  return rest as WireObject;
}

function send(res: ServerResponse, body: unknown, code?: number): void {
  const httpCode = code ?? (isStatus(body) ? body.code : 200);
  res.writeHead(httpCode, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}

const isStatus = (b: unknown): b is status.Status =>
  typeof b === 'object' && b !== null && (b as { kind?: unknown }).kind === 'Status';

function writeEvent(res: ServerResponse, type: string, object: unknown): void {
  if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
}
