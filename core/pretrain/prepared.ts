import type { PreparedBatch } from '../policy/index.ts';

/** Concatenates single-example prepared inputs into one batch. */
export function concatPrepared(parts: readonly PreparedBatch[]): PreparedBatch {
  const first = parts[0];
  if (!first) throw new Error('concatPrepared: empty');
  if (parts.some((p) => p.rowOf)) throw new Error('concatPrepared: batches with rowOf are not supported');
  const cat = (get: (p: PreparedBatch) => Float32Array): Float32Array => {
    const out = new Float32Array(parts.reduce((n, p) => n + get(p).length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(get(p), o);
      o += get(p).length;
    }
    return out;
  };
  return {
    size: parts.reduce((n, p) => n + p.size, 0),
    patches: cat((p) => p.patches),
    queryOneHot: cat((p) => p.queryOneHot),
    queryMask: cat((p) => p.queryMask),
    imageSizes: parts.flatMap((p) => p.imageSizes),
  };
}
