// Two error kinds with different audiences. BgpError is a protocol error found in received bytes:
// it carries exactly the NOTIFICATION (code, subcode, data) to send. BgpEncodeError is a caller
// bug: a value that cannot be put on the wire; it names the offending field.
import { ErrorCode, MessageHeaderSubcode, OpenSubcode, UpdateSubcode } from './constants.js';

export class BgpError extends Error {
  override readonly name = 'BgpError';

  constructor(
    readonly code: number,
    readonly subcode: number,
    readonly data: Buffer,
    message: string,
  ) {
    super(`${message} (NOTIFICATION ${code}/${subcode})`);
  }
}

export class BgpEncodeError extends Error {
  override readonly name = 'BgpEncodeError';

  constructor(
    /** Dotted path of the offending value, e.g. `attributes[2].segments[0]`. */
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const EMPTY = Buffer.alloc(0);

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

export const headerError = {
  notSynchronized: (): BgpError =>
    new BgpError(
      ErrorCode.MESSAGE_HEADER,
      MessageHeaderSubcode.CONNECTION_NOT_SYNCHRONIZED,
      EMPTY,
      'marker is not all ones',
    ),
  badLength: (length: number, why: string): BgpError =>
    new BgpError(
      ErrorCode.MESSAGE_HEADER,
      MessageHeaderSubcode.BAD_MESSAGE_LENGTH,
      u16(length),
      `bad message length ${length}: ${why}`,
    ),
  badType: (type: number): BgpError =>
    new BgpError(
      ErrorCode.MESSAGE_HEADER,
      MessageHeaderSubcode.BAD_MESSAGE_TYPE,
      Buffer.from([type]),
      `unknown message type ${type}`,
    ),
};

export function openError(subcode: number, message: string, data: Buffer = EMPTY): BgpError {
  return new BgpError(ErrorCode.OPEN_MESSAGE, subcode, data, message);
}

export function updateError(subcode: number, message: string, data: Buffer = EMPTY): BgpError {
  return new BgpError(ErrorCode.UPDATE_MESSAGE, subcode, data, message);
}

export const malformedAttributeList = (message: string): BgpError =>
  updateError(UpdateSubcode.MALFORMED_ATTRIBUTE_LIST, message);

export const invalidNetworkField = (message: string): BgpError =>
  updateError(UpdateSubcode.INVALID_NETWORK_FIELD, message);

export const unspecificOpenError = (message: string, data: Buffer = EMPTY): BgpError =>
  openError(OpenSubcode.UNSPECIFIC, message, data);
