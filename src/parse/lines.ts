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
 * A piece of an answer, copied into a buffer of its own. An answer is kept as the pieces it arrived
 * in (a socket read each): none grows or is copied again, and buffers of that size are taken from
 * the allocator's free lists and given back to them, where one buffer for a whole answer would be
 * mapped fresh, page by page, on every read.
 */
export function keptCopy(piece: Uint8Array): Buffer {
  const bytes = Buffer.allocUnsafe(piece.length);
  bytes.set(piece);
  return bytes;
}

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
