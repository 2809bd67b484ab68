// Building blocks for semanticChecks. They read untrusted values (the schema may have failed)
// and report only what the schema cannot: a value of the wrong type is left to the schema.
import {
  InvalidAddressError,
  InvalidPrefixError,
  type IPAddress,
  type IPFamily,
  type Prefix,
  parseAddress,
  parseInterfaceAddress,
  parsePrefix,
} from '../net/index.js';
import { describeValue, type ValidationIssue } from './errors.js';

export type Fields = Readonly<Record<string, unknown>>;

const EMPTY: Fields = {};

/** The object's fields, or none when it is not an object. */
export const fields = (value: unknown): Fields =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Fields) : EMPTY;

export const items = (value: unknown): readonly unknown[] => (Array.isArray(value) ? value : []);

export const asInteger = (value: unknown): number | undefined =>
  Number.isInteger(value) ? (value as number) : undefined;

export const asString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

/** Collects issues under a common path prefix. */
export class IssueList {
  readonly issues: ValidationIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** A CIDR without host bits, in the family asked for. */
  cidr(path: string, value: unknown, family?: IPFamily): Prefix | undefined {
    const text = asString(value);
    if (text === undefined) return undefined;
    try {
      return parsePrefix(text, family !== undefined ? { family } : {});
    } catch (e) {
      if (!(e instanceof InvalidPrefixError)) throw e;
      this.add(path, `must be a canonical CIDR: ${e.reason} (got ${describeValue(text)})`);
      return undefined;
    }
  }

  address(path: string, value: unknown, family?: IPFamily): IPAddress | undefined {
    const text = asString(value);
    if (text === undefined) return undefined;
    try {
      return parseAddress(text, family !== undefined ? { family } : {});
    } catch (e) {
      if (!(e instanceof InvalidAddressError)) throw e;
      const expected = family === undefined ? 'an IPv4 or IPv6 address' : `an IPv${family} address`;
      this.add(path, `must be ${expected}: ${e.reason} (got ${describeValue(text)})`);
      return undefined;
    }
  }

  /** An address with its prefix length, as on an interface (`10.0.0.1/24`). */
  interfaceAddress(path: string, value: unknown, family: IPFamily): void {
    const text = asString(value);
    if (text === undefined) return;
    try {
      parseInterfaceAddress(text, { family });
    } catch (e) {
      if (!(e instanceof InvalidPrefixError)) throw e;
      const example = family === 4 ? '10.0.0.1/24' : 'fd00::1/64';
      this.add(path, `must be an IPv${family} address with prefix length such as ${example}: ${e.reason}`);
    }
  }

  /** AS_TRANS stands in for a 4-byte AS in 2-byte sessions; a speaker must not use it as its own. */
  asNumber(path: string, value: unknown): void {
    if (value === 23456) this.add(path, 'must not be 23456 (AS_TRANS, RFC 6793)');
  }

  /** A keepalive at or beyond the hold time lets the session expire between keepalives. */
  timers(keepalivePath: string, keepalive: unknown, holdTime: unknown): void {
    const k = asInteger(keepalive);
    const h = asInteger(holdTime);
    if (k !== undefined && h !== undefined && h > 0 && k >= h) {
      this.add(keepalivePath, `must be less than holdTime ${h} (got ${k}); RFC 4271 suggests a third of it`);
    }
  }

  /** LabelSelector rules the API server enforces beyond the schema. */
  selector(path: string, value: unknown): void {
    items(fields(value)['matchExpressions']).forEach((raw, i) => {
      const expr = fields(raw);
      const operator = expr['operator'];
      const values = expr['values'];
      const p = `${path}.matchExpressions[${i}].values`;
      const count = Array.isArray(values) ? values.length : 0;
      if ((operator === 'In' || operator === 'NotIn') && count === 0) {
        this.add(p, `must be non-empty for operator ${operator}`);
      }
      if ((operator === 'Exists' || operator === 'DoesNotExist') && count > 0) {
        this.add(p, `must be empty for operator ${operator}`);
      }
    });
  }
}
