// The one way nosrv grows a typed array: parsers and the exposition cache keep numbers in typed
// arrays that grow as an answer arrives.

type Growable = Uint8Array | Uint16Array | Int32Array | Float64Array;

/** `array` when it holds `length` items; else a copy of its first `used` items, with room for at least `length` and twice as many as before. */
export function withRoom<T extends Growable>(array: T, length: number, used: number = array.length): T {
  if (length <= array.length) return array;
  const Kind = array.constructor as new (length: number) => T;
  const grown = new Kind(Math.max(array.length * 2, length));
  grown.set(array.subarray(0, used));
  return grown;
}
