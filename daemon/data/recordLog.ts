/**
 * An append-only file of checksummed key → bytes records: the storage under every cache here. A process killed
 * mid-run leaves at worst one torn record at the end; opening the log verifies every record's CRC-32, keeps
 * the good prefix and truncates the rest, so nothing already written is lost and nothing half-written is
 * read. Later records for the same key replace earlier ones.
 *
 * A log whose records are versions of the same item (a cache keyed by file and mtime: a dataset copied again
 * gets new mtimes, and every photo is recomputed) says so with `slotOf`: a record replaces the earlier ones of
 * its slot, and when superseded records fill more than half the file it is rewritten with the live ones only
 * (atomically: a kill leaves the old or the new file). Without that a cache grew by the whole dataset per copy,
 * past what one read can hold (2 GiB), and then could not be opened at all. The file is read a record at a
 * time, so its size is not bounded by one buffer either.
 *
 * Record layout (little-endian): magic u32 'FIL1' | key length u32 | payload length u32 | CRC-32 u32 of
 * (key ‖ payload) | key UTF-8 | payload.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const MAGIC = 0x314c4946; // 'FIL1'
const HEADER = 16;

export interface RecordLogOpenInfo {
  /** Records read back (including superseded duplicates). */
  records: number;
  /** Bytes dropped from a torn or corrupt tail (0 when the file was clean). */
  droppedBytes: number;
  /** Bytes of superseded records removed by compaction at open (0 when none was needed). */
  compactedBytes: number;
}

/** The item a key is a version of (records of one slot replace each other), e.g. a file's path in `path|size|mtime`. */
export type SlotOf = (key: string) => string;

/** The valid records of a log file in order, read one at a time, and where the valid prefix ends. */
function readRecords(file: string): { entries: [string, Buffer][]; validBytes: number; fileBytes: number } {
  const entries: [string, Buffer][] = [];
  if (!fs.existsSync(file)) return { entries, validBytes: 0, fileBytes: 0 };
  const fd = fs.openSync(file, 'r');
  try {
    const fileBytes = fs.fstatSync(fd).size;
    const head = Buffer.alloc(HEADER);
    let off = 0;
    while (off + HEADER <= fileBytes) {
      fs.readSync(fd, head, 0, HEADER, off);
      if (head.readUInt32LE(0) !== MAGIC) break;
      const klen = head.readUInt32LE(4), plen = head.readUInt32LE(8), crc = head.readUInt32LE(12);
      const end = off + HEADER + klen + plen;
      if (end > fileBytes) break;
      const body = Buffer.allocUnsafe(klen + plen);
      fs.readSync(fd, body, 0, body.length, off + HEADER);
      if (zlib.crc32(body) !== crc) break;
      entries.push([body.subarray(0, klen).toString('utf8'), body.subarray(klen)]);
      off = end;
    }
    return { entries, validBytes: off, fileBytes };
  } finally {
    fs.closeSync(fd);
  }
}

function encodeRecord(key: string, payload: Uint8Array): Buffer {
  const k = Buffer.from(key, 'utf8');
  const buf = Buffer.allocUnsafe(HEADER + k.length + payload.length);
  k.copy(buf, HEADER);
  buf.set(payload, HEADER + k.length);
  buf.writeUInt32LE(MAGIC, 0);
  buf.writeUInt32LE(k.length, 4);
  buf.writeUInt32LE(payload.length, 8);
  buf.writeUInt32LE(zlib.crc32(buf.subarray(HEADER)), 12);
  return buf;
}

/** Writes all of `buf` (write(2) may take less than asked). */
function writeAll(fd: number, buf: Buffer): void {
  let written = 0;
  while (written < buf.length) written += fs.writeSync(fd, buf, written);
}

/** Rewrites `file` with `live` records only, through a temporary file renamed over it. */
function rewrite(file: string, live: Iterable<[string, Buffer]>): void {
  const tmp = `${file}.compact-${process.pid}`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const [k, v] of live) writeAll(fd, encodeRecord(k, v));
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** Puts `key` in `index`, first dropping the key its slot held before (a log with `slotOf`). */
function putVersion(index: Map<string, Buffer>, slots: Map<string, string>, slotOf: SlotOf | undefined, key: string, payload: Buffer): void {
  if (slotOf) {
    const slot = slotOf(key), old = slots.get(slot);
    if (old !== undefined && old !== key) index.delete(old);
    slots.set(slot, key);
  }
  index.set(key, payload);
}

export class RecordLog {
  private fd: number | null;

  private constructor(
    readonly file: string, fd: number, readonly openInfo: RecordLogOpenInfo, private readonly slotOf: SlotOf | undefined,
    private readonly index: Map<string, Buffer>,
    /** slot → its live key (only with `slotOf`). */
    private readonly slots: Map<string, string>,
  ) {
    this.fd = fd;
  }

  /**
   * Opens (creating directories and file as needed) and loads every valid record into memory. With `slotOf`,
   * a record replaces its slot's earlier ones, and a log more than half superseded is compacted.
   */
  static open(file: string, slotOf?: SlotOf): RecordLog {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const { entries, validBytes, fileBytes } = readRecords(file);
    const dropped = fileBytes - validBytes;
    if (dropped > 0) fs.truncateSync(file, validBytes);
    const index = new Map<string, Buffer>(), slots = new Map<string, string>();
    for (const [k, v] of entries) putVersion(index, slots, slotOf, k, v);
    let liveBytes = 0;
    for (const [k, v] of index) liveBytes += HEADER + Buffer.byteLength(k) + v.length;
    const compacted = liveBytes < validBytes / 2;
    if (compacted) rewrite(file, index);
    const fd = fs.openSync(file, 'a');
    return new RecordLog(file, fd, { records: entries.length, droppedBytes: dropped, compactedBytes: compacted ? validBytes - liveBytes : 0 }, slotOf, index, slots);
  }

  get size(): number {
    return this.index.size;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): Buffer | undefined {
    return this.index.get(key);
  }

  keys(): IterableIterator<string> {
    return this.index.keys();
  }

  /** Appends one record with a single write(2), so a kill leaves it either whole or detectably torn. */
  append(key: string, payload: Uint8Array): void {
    if (this.fd === null) throw new Error(`${this.file}: append after close`);
    const buf = encodeRecord(key, payload);
    writeAll(this.fd, buf);
    putVersion(this.index, this.slots, this.slotOf, key, Buffer.from(buf.subarray(buf.length - payload.length)));
  }

  /** Flushes to disk and closes; the in-memory index stays readable. */
  close(): void {
    if (this.fd === null) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
  }
}
