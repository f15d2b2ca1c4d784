/**
 * Orders two event cursors as the log does (-1, 0 or 1). Cursors are opaque to clients;
 * tests know their form, `<transaction id>:<id>`, to check that a stream is in log order.
 */
export function compareCursors(a: string, b: string): number {
  const parse = (c: string) => {
    const [tx, id] = c.includes(':') ? c.split(':') : ['0', c];
    return [BigInt(tx), BigInt(id)] as const;
  };
  const [x, y] = [parse(a), parse(b)];
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
  return 0;
}
