// RFC 4271 section 5 / 9.1.2: what happens to an attribute we do not interpret when a route is
// passed on. Optional transitive: forwarded with the Partial bit set. Optional non-transitive:
// dropped. (Unrecognised well-known attributes never get this far: they reset the session.)
import { AttributeFlag } from '../constants.js';
import type { UnknownAttribute } from './types.js';

export function propagateUnknown(attr: UnknownAttribute): UnknownAttribute | undefined {
  if ((attr.flags & AttributeFlag.TRANSITIVE) === 0) return undefined;
  if (attr.flags & AttributeFlag.PARTIAL) return attr;
  return { ...attr, flags: attr.flags | AttributeFlag.PARTIAL };
}
