// Checked access for index callbacks and parallel arrays, where an index is always within its
// array: a wrong one fails loudly instead of reading undefined as an item.

/** `items[i]`, or a RangeError when there is no such item. */
export function itemAt<T>(items: ArrayLike<T>, i: number): T {
  const item = items[i];
  if (item === undefined) throw new RangeError(`no item at ${i} of ${items.length}`);
  return item;
}
