/** `--only realism`: held-out real photos vs generated vectors, nearest-neighbour cosines and effective dimensions. */
import { realismReport } from '../index-vectors.ts';
import { D, row } from './data.ts';

export function realism(reals: Float32Array): void {
  console.log('\n## generator realism (held-out photos = every 5th photo; the generators use the rest)');
  const count = reals.length / D;
  console.table(realismReport(heldOutLast(reals), Math.ceil(count / 5), [0.2, 0.3, 0.5]));
}

/** The photos reordered so every 5th comes last: realismReport holds out the tail. */
function heldOutLast(reals: Float32Array): Float32Array {
  const count = reals.length / D;
  const indices = Array.from({ length: count }, (_, i) => i);
  const order = [...indices.filter((i) => i % 5 !== 0), ...indices.filter((i) => i % 5 === 0)];
  const shuffled = new Float32Array(reals.length);
  order.forEach((source, i) => shuffled.set(row(reals, source), i * D));
  return shuffled;
}
