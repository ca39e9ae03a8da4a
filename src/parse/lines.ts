// What the streamed parsers share: an answer arrives in pieces of whole lines, kept as bytes, and
// most of its fields are plain integers or names that need not become strings first.

/** The digits of bytes[start, end) as a number; null when there are none, more than 15, or anything else. */
export function digitsIn(bytes: Uint8Array, start: number, end: number): number | null {
  if (start >= end || end - start > 15) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (bytes[i] ?? 0) - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * What one answer keeps in glibc's heap, where pieces are taken from the free lists read after
 * read: more than HAProxy writes for 15,000 servers.
 */
const IN_HEAP_BYTES = 4 * 1024 * 1024;
/** Past glibc's mmap threshold (128 KiB, set in `src/main.ts`): a block is mapped on its own. */
const BLOCK_BYTES = 256 * 1024;

/**
 * Where one answer's pieces are kept, each copied so the caller may reuse its own. The first
 * IN_HEAP_BYTES are copies of their own, from glibc's heap. Past that the pieces go one after
 * another into blocks mapped apart from the heap, so the memory of an answer far larger than
 * usual goes back to the system once its read is collected, rather than stay in the heap for good.
 */
export class Pieces<T> {
  private kept = 0;
  private block = Buffer.alloc(0);
  private used = 0;

  constructor(
    private readonly bytesPerElement: number,
    private readonly view: (memory: Buffer, length: number) => T,
  ) {}

  keep(values: Uint8Array | Uint16Array): T {
    const bytes = values.length * this.bytesPerElement;
    const source = new Uint8Array(values.buffer, values.byteOffset, bytes);
    this.kept += bytes;
    if (this.kept <= IN_HEAP_BYTES) {
      const own = Buffer.allocUnsafe(bytes);
      own.set(source);
      return this.view(own, values.length);
    }
    if (this.used + bytes > this.block.length) {
      this.block = Buffer.allocUnsafeSlow(Math.max(BLOCK_BYTES, bytes));
      this.used = 0;
    }
    const memory = this.block.subarray(this.used, this.used + bytes);
    memory.set(source);
    this.used += bytes;
    return this.view(memory, values.length);
  }
}

export const bytePieces = (): Pieces<Buffer> => new Pieces(1, (memory) => memory);

/** Calls `visit` with where each line of `bytes` starts and ends (without its newline). */
export function forEachLine(bytes: Buffer, visit: (start: number, end: number) => void): void {
  for (let start = 0; start < bytes.length;) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    visit(start, end);
    start = end + 1;
  }
}

/** bytes[start, end) is `text`, told without making a string while the text is ASCII. */
export function textIs(bytes: Buffer, start: number, end: number, text: string): boolean {
  // UTF-8 never takes fewer bytes than UTF-16 takes code units.
  if (end - start < text.length) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Past ASCII a character is not its byte: the bytes are read as text.
    if (code > 127) return bytes.toString('utf8', start, end) === text;
    if (bytes[start + i] !== code) return false;
  }
  return end - start === text.length;
}
