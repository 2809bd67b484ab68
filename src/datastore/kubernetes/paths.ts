// REST paths of the kinds we store, from the resource registry: our CRDs live under
// /apis/trellis.network/v1, Pods/Namespaces/Nodes under /api/v1, NetworkPolicies under
// /apis/networking.k8s.io/v1. Known statically, so no discovery round trip is needed.
import { type KindInfo, kindInfo } from '../../resources/index.js';
import { DatastoreError } from '../types.js';

export function servedKind(kind: string): KindInfo {
  const info = kindInfo(kind);
  if (info === undefined)
    throw new DatastoreError('Invalid', `kind ${JSON.stringify(kind)} is not one we store`);
  return info;
}

/**
 * The collection path (no name) or the object path. For namespaced kinds a collection path
 * without namespace lists across all namespaces.
 */
export function restPath(info: KindInfo, namespace?: string, name?: string): string {
  const root = info.apiVersion.includes('/') ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
  const ns = info.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  return `${root}${ns}/${info.plural}${obj}`;
}
