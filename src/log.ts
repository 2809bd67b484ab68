// Structured logging. JSON lines by default (what log shippers want); human-readable when
// stderr is a terminal. Level from TRELLIS_LOG_LEVEL or the CLI's --log-level.
import { type Logger, pino } from 'pino';

export type { Logger };

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  if (value === undefined || value === '') return fallback;
  const v = value.toLowerCase();
  if ((LEVELS as readonly string[]).includes(v)) return v as LogLevel;
  throw new Error(`invalid log level "${value}": expected one of ${LEVELS.join(', ')}`);
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Force pretty (true) or JSON (false) output; default: pretty only on a TTY. */
  pretty?: boolean;
  name?: string;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? parseLogLevel(process.env['TRELLIS_LOG_LEVEL']);
  const pretty =
    opts.pretty ?? (process.stderr.isTTY === true && process.env['TRELLIS_LOG_FORMAT'] !== 'json');
  const base = { level, name: opts.name ?? 'trellis' };
  if (pretty) {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { destination: 2, colorize: true } },
    });
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything: for pure code under test. */
export const silentLogger: Logger = pino({ level: 'silent' });
