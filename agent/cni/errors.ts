// CNI error codes (spec 1.1.0, section 5 "Error") and the typed error that carries one. The
// handler throws CniError to pick the code the runtime sees; the server turns it into the
// error JSON on the shim's stdout.

/** Incompatible CNI version. */
export const CNI_ERR_INCOMPATIBLE_VERSION = 1;
/** Unsupported field in network configuration; the message names the key and value. */
export const CNI_ERR_UNSUPPORTED_FIELD = 2;
/** Container unknown or does not exist: the runtime need not clean up. */
export const CNI_ERR_UNKNOWN_CONTAINER = 3;
/** Invalid or missing CNI_* environment variables; the message names them. */
export const CNI_ERR_INVALID_ENVIRONMENT = 4;
/** I/O failure, e.g. reading the configuration. */
export const CNI_ERR_IO_FAILURE = 5;
/** Failed to decode content (JSON, frames). */
export const CNI_ERR_DECODING_FAILURE = 6;
/** Invalid network configuration. */
export const CNI_ERR_INVALID_NETWORK_CONFIG = 7;
/** Transient condition: try again later. */
export const CNI_ERR_TRY_AGAIN_LATER = 11;
/** STATUS: the plugin cannot service ADD. */
export const CNI_ERR_PLUGIN_NOT_AVAILABLE = 50;
/** STATUS: not available, and existing containers may have limited connectivity. */
export const CNI_ERR_PLUGIN_NOT_AVAILABLE_LIMITED_CONNECTIVITY = 51;
/** Trellis: an unexpected failure inside the agent (a bug or an unclassified error). */
export const CNI_ERR_INTERNAL = 100;
/** Trellis: the agent gave up on the request after its per-request timeout. */
export const CNI_ERR_TIMEOUT = 101;
/** Trellis: ADD for an attachment that already exists (the runtime skipped DEL). */
export const CNI_ERR_ATTACHMENT_EXISTS = 102;
/** Trellis: no address left in any pool this node may use. */
export const CNI_ERR_POOL_EXHAUSTED = 103;
/** Trellis: CHECK found the attachment differs from what ADD set up. */
export const CNI_ERR_CHECK_FAILED = 104;

export class CniError extends Error {
  override readonly name = 'CniError';
  constructor(
    readonly code: number,
    /** Short: what failed. */
    readonly msg: string,
    /** Longer: which value, why, what to do. */
    readonly details: string = '',
  ) {
    super(details === '' ? `CNI error ${code}: ${msg}` : `CNI error ${code}: ${msg}: ${details}`);
  }
}
