// What every command needs from the global options: the datastore and a logger. Command
// groups in other folders use these instead of reading options themselves.
import type { Command } from 'commander';
import { FileDatastore } from '../datastore/file.js';
import type { Datastore } from '../datastore/types.js';
import { createLogger, type Logger, type LogLevel, parseLogLevel } from '../log.js';
import { validateResource } from '../resources/index.js';
import { UsageError } from './errors.js';

export const DEFAULT_DATASTORE_DIR = '/var/lib/trellis/datastore';

export interface GlobalOptions {
  datastore: string;
  logLevel: LogLevel;
}

export function globalOptions(cmd: Command): GlobalOptions {
  const opts = cmd.optsWithGlobals<{ datastore?: string; logLevel?: string }>();
  let logLevel: LogLevel;
  try {
    logLevel = parseLogLevel(opts.logLevel, 'warn');
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { datastore: opts.datastore ?? DEFAULT_DATASTORE_DIR, logLevel };
}

export const commandLogger = (cmd: Command): Logger =>
  createLogger({ level: globalOptions(cmd).logLevel, name: 'trellis-cli' });

/** Opens the datastore named by --datastore, validating every write, runs fn, closes it. */
export async function withDatastore<T>(cmd: Command, fn: (store: Datastore) => Promise<T>): Promise<T> {
  const store = await FileDatastore.open(globalOptions(cmd).datastore, {
    validate: validateResource,
    logger: commandLogger(cmd),
  });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
