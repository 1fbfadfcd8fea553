/**
 * An append-only file of checksummed key → bytes records: the storage under every cache here. A process killed
 * mid-run leaves at worst one torn record at the end; opening the log verifies every record's CRC-32, keeps
 * the good prefix and truncates the rest, so nothing already written is lost and nothing half-written is
 * read. Later records for the same key replace earlier ones.
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
}

export class RecordLog {
  private readonly index = new Map<string, Buffer>();
  private fd: number | null;

  private constructor(readonly file: string, fd: number, readonly openInfo: RecordLogOpenInfo) {
    this.fd = fd;
  }

  /** Opens (creating directories and file as needed) and loads every valid record into memory. */
  static open(file: string): RecordLog {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const bytes = fs.existsSync(file) ? fs.readFileSync(file) : Buffer.alloc(0);
    const entries: [string, Buffer][] = [];
    let off = 0;
    while (off + HEADER <= bytes.length) {
      if (bytes.readUInt32LE(off) !== MAGIC) break;
      const klen = bytes.readUInt32LE(off + 4);
      const plen = bytes.readUInt32LE(off + 8);
      const crc = bytes.readUInt32LE(off + 12);
      const end = off + HEADER + klen + plen;
      if (end > bytes.length) break;
      const body = bytes.subarray(off + HEADER, end);
      if (zlib.crc32(body) !== crc) break;
      const key = body.subarray(0, klen).toString('utf8');
      // Copy so the big file buffer can be collected.
      entries.push([key, Buffer.from(body.subarray(klen))]);
      off = end;
    }
    const dropped = bytes.length - off;
    if (dropped > 0) fs.truncateSync(file, off);
    const fd = fs.openSync(file, 'a');
    const log = new RecordLog(file, fd, { records: entries.length, droppedBytes: dropped });
    for (const [k, v] of entries) log.index.set(k, v);
    return log;
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
    const k = Buffer.from(key, 'utf8');
    const buf = Buffer.allocUnsafe(HEADER + k.length + payload.length);
    k.copy(buf, HEADER);
    buf.set(payload, HEADER + k.length);
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(k.length, 4);
    buf.writeUInt32LE(payload.length, 8);
    buf.writeUInt32LE(zlib.crc32(buf.subarray(HEADER)), 12);
    let written = 0;
    while (written < buf.length) written += fs.writeSync(this.fd, buf, written);
    this.index.set(key, Buffer.from(buf.subarray(HEADER + k.length)));
  }

  /** Flushes to disk and closes; the in-memory index stays readable. */
  close(): void {
    if (this.fd === null) return;
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
  }
}
