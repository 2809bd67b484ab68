// Shared by the lab tests.
import { prefixOfNamespace } from '../../src/lab/names.js';

export { identify } from '../../src/lab/proc.js';

import { listNamespaces } from '../../src/lab/teardown.js';

export * from '../../src/lab/index.js';

export function listLabNamespaces(prefix: string): string[] {
  return listNamespaces().filter((ns) => prefixOfNamespace(ns) === prefix);
}
