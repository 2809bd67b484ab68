import { pino } from 'pino';
import type { Logger } from '../../src/log.js';

/** A real pino logger whose warn-and-above lines are kept, parsed, for assertions. */
export function recordingLogger(lines: Record<string, unknown>[]): Logger {
  return pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
}
