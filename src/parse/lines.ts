// What the streamed parsers share: an answer arrives in pieces of whole lines, and most of its
// fields are plain integers that need not become strings first.

/** The digits of text[start, end) as a number; null when there are none, more than 15, or anything else. */
export function digitsAt(text: string, start: number, end: number): number | null {
  if (start >= end || end - start > 15) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}

/** The digits of bytes[start, end) as a number; null when there are none, more than 15, or anything else. */
export function digitsIn(bytes: Uint8Array, start: number, end: number): number | null {
  if (start >= end || end - start > 15) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (bytes[i] as number) - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}
