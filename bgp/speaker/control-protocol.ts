// The control API's wire format: one JSON object per line each way.
//   request:  {"id":1,"method":"peers"}  |  {"id":2,"method":"routes","prefix":"10.0.0.0/24"}  |  {"id":3,"method":"kernel"}
//   response: {"id":1,"result":[...]}    |  {"id":2,"error":"..."}
// Pure encode/decode; decoders throw ControlProtocolError and nothing else.

export type ControlRequest =
  | { readonly id: number; readonly method: 'peers' }
  | { readonly id: number; readonly method: 'kernel' }
  | { readonly id: number; readonly method: 'routes'; readonly prefix?: string };

type WithoutId<R> = R extends unknown ? Omit<R, 'id'> : never;
/** A request as a client asks it; `controlRequest` numbers it. */
export type ControlQuery = WithoutId<ControlRequest>;

export type ControlResponse =
  | { readonly id: number; readonly result: unknown }
  | { readonly id: number; readonly error: string };

/** A control message that is not valid JSON or not of the expected shape. */
export class ControlProtocolError extends Error {
  override readonly name = 'ControlProtocolError';
}

/** Longest line either side accepts: a full table's `routes` reply stays far below this. */
export const MAX_CONTROL_LINE = 512 * 1024 * 1024;

export function encodeControlMessage(msg: ControlRequest | ControlResponse): string {
  return `${JSON.stringify(msg)}\n`;
}

function parseObject(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new ControlProtocolError(`not JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ControlProtocolError('a control message must be a JSON object');
  }
  return value as Record<string, unknown>;
}

function idOf(obj: Record<string, unknown>): number {
  const id = obj['id'];
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
    throw new ControlProtocolError('"id" must be a non-negative integer');
  }
  return id;
}

export function decodeControlRequest(line: string): ControlRequest {
  const obj = parseObject(line);
  const id = idOf(obj);
  switch (obj['method']) {
    case 'peers':
    case 'kernel':
      return { id, method: obj['method'] };
    case 'routes': {
      const prefix = obj['prefix'];
      if (prefix === undefined) return { id, method: 'routes' };
      if (typeof prefix !== 'string') throw new ControlProtocolError('"prefix" must be a string');
      return { id, method: 'routes', prefix };
    }
    default:
      throw new ControlProtocolError(
        `unknown method ${JSON.stringify(obj['method'])} (expected peers, routes or kernel)`,
      );
  }
}

export function decodeControlResponse(line: string): ControlResponse {
  const obj = parseObject(line);
  const id = idOf(obj);
  if (typeof obj['error'] === 'string') return { id, error: obj['error'] };
  if (!Object.hasOwn(obj, 'result')) throw new ControlProtocolError('a response needs "result" or "error"');
  return { id, result: obj['result'] };
}

/** Splits a byte stream into lines; keeps the unfinished tail for the next chunk. */
export class LineSplitter {
  #tail = '';

  push(chunk: string): string[] {
    const text = this.#tail + chunk;
    const lines = text.split('\n');
    this.#tail = lines.pop() ?? '';
    if (this.#tail.length > MAX_CONTROL_LINE) throw new ControlProtocolError('control line too long');
    return lines.filter((l) => l.trim() !== '');
  }
}
