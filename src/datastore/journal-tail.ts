// A position in the journal. Readers consume only complete, valid, consecutive lines and never
// move past the last one, so a line being appended (or torn by a crash) is simply not seen yet;
// only a lock holder truncates what a reader refused. Compaction replaces the file by rename:
// the old inode is then final, so a reader drains it before following the path to the new one.
import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readSync,
  statSync,
  writeSync,
} from 'node:fs';
import { writeFileAtomic } from './atomic-file.js';
import {
  decodeHeader,
  decodeRecord,
  encodeHeader,
  encodeRecord,
  JournalDecodeError,
  type JournalRecord,
} from './journal-codec.js';
import { DatastoreError } from './types.js';

const NEWLINE = 0x0a;
const HEADER_MAX = 256;

const unavailable = (message: string): DatastoreError => new DatastoreError('Unavailable', message);
const gone = (rv: number, baseRv: number): DatastoreError =>
  new DatastoreError('Gone', `resourceVersion ${rv} is too old: the journal starts after ${baseRv}`);

interface OpenFile {
  fd: number;
  ino: number;
  dev: number;
  baseRv: number;
  /** Byte offset just after the header. */
  bodyStart: number;
}

export class JournalTail {
  /** End of the last consumed line. */
  private offset: number;
  /** Version of the last consumed line in this file (baseRv when none). */
  private fileRv: number;
  /** Every record up to here has been handed out (or deliberately skipped). */
  private cursor: number;
  private last: JournalRecord | undefined;
  private unconsumed = 0;
  private refusal: string | undefined;
  /** Once overtaken by a compaction, a tail stays Gone: its position means nothing in the new file. */
  private goneError: DatastoreError | undefined;

  private constructor(
    private readonly path: string,
    private readonly writable: boolean,
    private file: OpenFile,
    from: number,
  ) {
    this.offset = file.bodyStart;
    this.fileRv = file.baseRv;
    this.cursor = from;
  }

  /** Writes a journal holding only a header: records will start at baseRv + 1. */
  static create(path: string, baseRv: number): void {
    writeFileAtomic(path, encodeHeader({ baseRv }) + '\n');
  }

  /**
   * from: hand out records after this version (GoneError if the journal no longer has them), or
   * 'end': only records appended from now on.
   */
  static open(path: string, from: number | 'end', writable = false): JournalTail {
    const file = openJournal(path, writable);
    if (from !== 'end' && from < file.baseRv) {
      closeSync(file.fd);
      throw gone(from, file.baseRv);
    }
    if (from !== 'end') return new JournalTail(path, writable, file, from);
    // Consume what is there without handing it out: the cursor starts past everything.
    const tail = new JournalTail(path, writable, file, Number.MAX_SAFE_INTEGER);
    tail.drain();
    tail.cursor = tail.fileRv;
    return tail;
  }

  /** The newest version this tail has consumed. */
  get rv(): number {
    return this.fileRv;
  }

  get baseRv(): number {
    return this.file.baseRv;
  }

  /** The last record in the journal as consumed (undefined right after a compaction to zero records). */
  get lastRecord(): JournalRecord | undefined {
    return this.last;
  }

  /** Bytes after the last consumed line, and why they were not consumed. */
  get pending(): { bytes: number; reason: string | undefined } {
    return { bytes: this.unconsumed, reason: this.refusal };
  }

  /** New records after the cursor, in order. GoneError if a compaction overtook this tail. */
  poll(): JournalRecord[] {
    if (this.goneError !== undefined) throw this.goneError;
    const out: JournalRecord[] = [];
    for (;;) {
      let st: ReturnType<typeof statSync>;
      try {
        st = statSync(this.path);
      } catch (e) {
        throw unavailable(`journal ${this.path}: ${(e as Error).message}`);
      }
      out.push(...this.drain());
      if (st.ino === this.file.ino && st.dev === this.file.dev) return out;
      this.switchFile();
    }
  }

  /** Commit point of a write: the record is durable once this returns. Caller holds the store lock. */
  append(record: JournalRecord): void {
    this.assertWritable();
    if (record.rv !== this.fileRv + 1 || this.unconsumed !== 0) {
      throw new Error(`append of ${record.rv} at ${this.fileRv} with ${this.unconsumed} unconsumed bytes`);
    }
    const buf = Buffer.from(encodeRecord(record) + '\n');
    try {
      let written = 0;
      while (written < buf.length) {
        written += writeSync(this.file.fd, buf, written, buf.length - written, this.offset + written);
      }
      fdatasyncSync(this.file.fd);
    } catch (e) {
      ftruncateSync(this.file.fd, this.offset);
      throw unavailable(`journal append failed: ${(e as Error).message}`);
    }
    this.offset += buf.length;
    this.fileRv = record.rv;
    this.cursor = record.rv;
    this.last = record;
  }

  /** Drops what readers refused (a torn or corrupt tail). Caller holds the store lock. */
  truncatePending(): void {
    this.assertWritable();
    ftruncateSync(this.file.fd, this.offset);
    fdatasyncSync(this.file.fd);
    this.unconsumed = 0;
    this.refusal = undefined;
  }

  /** Keeps the newest `retain` records; older versions become Gone. Caller holds the store lock. */
  compact(retain: number): void {
    this.assertWritable();
    const body = readRange(this.file.fd, this.file.bodyStart, this.offset);
    const lines = body.toString('utf8').split('\n').slice(0, -1);
    const kept = lines.slice(Math.max(0, lines.length - retain));
    const baseRv = this.fileRv - kept.length;
    writeFileAtomic(this.path, [encodeHeader({ baseRv }), ...kept].map((l) => l + '\n').join(''));
    this.switchFile();
    this.drain();
  }

  close(): void {
    closeSync(this.file.fd);
  }

  /** Consumes complete valid lines after `offset`; returns those past the cursor. */
  private drain(): JournalRecord[] {
    const out: JournalRecord[] = [];
    const size = fstatSync(this.file.fd).size;
    this.unconsumed = 0;
    this.refusal = undefined;
    if (size <= this.offset) return out;
    const buf = readRange(this.file.fd, this.offset, size);
    let start = 0;
    for (let nl = buf.indexOf(NEWLINE); nl >= 0; nl = buf.indexOf(NEWLINE, start)) {
      let record: JournalRecord;
      try {
        record = decodeRecord(buf.toString('utf8', start, nl));
        if (record.rv !== this.fileRv + 1) {
          throw new JournalDecodeError(`record ${record.rv} follows ${this.fileRv}`);
        }
      } catch (e) {
        if (!(e instanceof JournalDecodeError)) throw e;
        this.refusal = `${e.message} at byte ${this.offset + start}`;
        break;
      }
      this.fileRv = record.rv;
      this.last = record;
      if (record.rv > this.cursor) {
        out.push(record);
        this.cursor = record.rv;
      }
      start = nl + 1;
    }
    this.offset += start;
    this.unconsumed = size - this.offset;
    if (this.unconsumed > 0) this.refusal ??= 'incomplete last line';
    return out;
  }

  private switchFile(): void {
    const next = openJournal(this.path, this.writable);
    closeSync(this.file.fd);
    this.file = next;
    this.offset = next.bodyStart;
    if (this.cursor < next.baseRv) {
      this.goneError = gone(this.cursor, next.baseRv);
      throw this.goneError;
    }
    this.fileRv = next.baseRv;
    this.last = undefined;
  }

  private assertWritable(): void {
    if (!this.writable) throw new Error('journal tail opened read-only');
  }
}

function openJournal(path: string, writable: boolean): OpenFile {
  let fd: number;
  try {
    fd = openSync(path, writable ? constants.O_RDWR : constants.O_RDONLY);
  } catch (e) {
    throw unavailable(`journal ${path}: ${(e as Error).message}`);
  }
  try {
    const head = readRange(fd, 0, Math.min(fstatSync(fd).size, HEADER_MAX));
    const nl = head.indexOf(NEWLINE);
    if (nl < 0) throw new JournalDecodeError('no header line');
    const { baseRv } = decodeHeader(head.toString('utf8', 0, nl));
    const st = fstatSync(fd);
    return { fd, ino: st.ino, dev: st.dev, baseRv, bodyStart: nl + 1 };
  } catch (e) {
    closeSync(fd);
    if (e instanceof JournalDecodeError) throw unavailable(`journal ${path} is corrupt: ${e.message}`);
    throw e;
  }
}

function readRange(fd: number, from: number, to: number): Buffer {
  const buf = Buffer.alloc(to - from);
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, from + got);
    if (n === 0) return buf.subarray(0, got);
    got += n;
  }
  return buf;
}
