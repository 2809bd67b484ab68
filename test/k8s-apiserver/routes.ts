// REST paths of the API server for the kinds the stand-in serves:
//   /api/v1/{plural}[/{name}]                              core, cluster-scoped or all namespaces
//   /api/v1/namespaces/{ns}/{plural}[/{name}]              core, namespaced
//   /apis/{group}/{version}/...                            the same under a named group
import type { KindInfo } from '../../src/resources/index.js';

export interface Route {
  info: KindInfo;
  group: string;
  namespace?: string;
  name?: string;
}

const groupOf = (apiVersion: string): string => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');

/** Parses a request path against the served kinds; undefined when it names no known resource. */
export function parseRoute(path: string, kinds: readonly KindInfo[]): Route | undefined {
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decodeURIComponent);
  let apiVersion: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    apiVersion = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    apiVersion = `${parts[1]}/${parts[2]}`;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  const find = (plural: string | undefined) =>
    kinds.find((k) => k.apiVersion === apiVersion && k.plural === plural);
  const route = (info: KindInfo | undefined, namespace?: string, name?: string): Route | undefined => {
    if (info === undefined) return undefined;
    const r: Route = { info, group: groupOf(apiVersion) };
    if (namespace !== undefined) r.namespace = namespace;
    if (name !== undefined) r.name = name;
    return r;
  };
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const info = find(rest[2]);
    if (info === undefined || !info.namespaced || rest.length > 4) return undefined;
    return route(info, rest[1], rest[3]);
  }
  if (rest.length === 1) return route(find(rest[0]));
  if (rest.length === 2) {
    const info = find(rest[0]);
    return info?.namespaced ? undefined : route(info, undefined, rest[1]);
  }
  return undefined;
}
