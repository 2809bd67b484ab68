// CustomResourceDefinitions generated from the same definitions validateResource uses, so the
// API server and the embedded store accept the same objects (up to the semantic checks,
// which no CRD schema can express).
import { stringify } from 'yaml';
import type { ResourceDefinition } from './definition.js';
import { API_GROUP } from './schema.js';

export const crdName = (def: ResourceDefinition): string => `${def.plural}.${API_GROUP}`;

export const crdFileName = (def: ResourceDefinition): string => `${crdName(def)}.yaml`;

export function crdFor(def: ResourceDefinition): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(def) },
    spec: {
      group: API_GROUP,
      scope: 'Cluster',
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        ...(def.shortNames.length > 0 ? { shortNames: [...def.shortNames] } : {}),
      },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: def.schema },
          additionalPrinterColumns: def.printerColumns.map((c) => ({ ...c })),
        },
      ],
    },
  };
}

export function renderCrd(def: ResourceDefinition): string {
  const header = '# Generated from src/resources by `node dist/src/resources/gen-crds.js`; do not edit.\n';
  return header + stringify(crdFor(def), { lineWidth: 0 });
}
