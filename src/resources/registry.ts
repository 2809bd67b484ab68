// Every kind the datastore holds, and lookup by any of the names a user may type.
import { bgpConfigurationDefinition } from './bgpconfiguration.js';
import { bgpPeerDefinition } from './bgppeer.js';
import { blockAffinityDefinition } from './blockaffinity.js';
import type { KindInfo, ResourceDefinition } from './definition.js';
import { ipamBlockDefinition } from './ipamblock.js';
import { ipPoolDefinition } from './ippool.js';
import { kubernetesKinds } from './kubernetes.js';
import { trellisNodeDefinition } from './trellisnode.js';

/** Our kinds (trellis.network/v1), in the order `trellis get` and the CRD generator list them. */
export const resourceDefinitions: readonly ResourceDefinition[] = [
  ipPoolDefinition,
  bgpConfigurationDefinition,
  bgpPeerDefinition,
  trellisNodeDefinition,
  ipamBlockDefinition,
  blockAffinityDefinition,
];

export const allKinds: readonly KindInfo[] = [...resourceDefinitions, ...kubernetesKinds];

const byKind = new Map(allKinds.map((k) => [k.kind, k]));

const byAlias = new Map<string, KindInfo>();
for (const k of allKinds) {
  for (const alias of [k.kind, k.plural, k.singular, ...k.shortNames]) {
    const key = alias.toLowerCase();
    const clash = byAlias.get(key);
    if (clash !== undefined && clash !== k)
      throw new Error(`kind alias "${alias}" used by ${clash.kind} and ${k.kind}`);
    byAlias.set(key, k);
  }
}

/** By kind, plural, singular or short name, case-insensitively. */
export const findKind = (name: string): KindInfo | undefined => byAlias.get(name.toLowerCase());

/** By exact kind, as written in an object's `kind` field. */
export const kindInfo = (kind: string): KindInfo | undefined => byKind.get(kind);

export const resourceDefinition = (kind: string): ResourceDefinition | undefined =>
  resourceDefinitions.find((d) => d.kind === kind);
