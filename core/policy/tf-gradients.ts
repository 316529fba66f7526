/**
 * Gradient kernels for the ops the policy network uses. `@tensorflow/tfjs-core`'s Node entry point
 * registers no gradients (the union package `@tensorflow/tfjs` does, and its ESM sources cannot be
 * loaded directly under Node's resolver), so the policy registers the few it needs. Each is the
 * textbook derivative; broadcasting is undone by summing over the broadcast axes.
 *
 * Only kernels reachable from core/policy's differentiable path are covered. `tf.logSoftmax`
 * carries its own gradient (customGrad), so it needs no entry here.
 */
import type * as Tf from '@tensorflow/tfjs-core';

type TfApi = typeof Tf;
type T = Tf.Tensor;

let registered = false;

/** Registers the gradients once per process (the registry is global to all tfjs copies). */
export function registerPolicyGradients(tf: TfApi): void {
  if (registered) return;
  registered = true;

  const has = (name: string): boolean => {
    try {
      return tf.getGradient(name) !== undefined;
    } catch {
      return false;
    }
  };
  const reg = (config: Tf.GradConfig): void => {
    // Another copy of tfjs (the union package) may already have registered a gradient.
    if (!has(config.kernelName)) tf.registerGradient(config);
  };

  /**
   * A [rows, 1] column of ones, kept across steps (outside every tidy) so the backend sees the same
   * tensor each time; remade when the backend changed or the tensor was disposed.
   */
  const columns = new Map<number, T>();
  let columnsBackend = '';
  const onesColumn = (rows: number): T => {
    if (columnsBackend !== tf.getBackend()) {
      for (const c of columns.values()) if (!c.isDisposed) c.dispose();
      columns.clear();
      columnsBackend = tf.getBackend();
    }
    let c = columns.get(rows);
    if (!c || c.isDisposed) {
      c = tf.keep(tf.ones([rows, 1]));
      columns.set(rows, c);
    }
    return c;
  };

  /** Sums `dy` down to `shape` (undoes broadcasting). */
  const unbroadcast = (dy: T, shape: number[]): T => {
    if (arraysEqual(dy.shape, shape)) return dy;
    const rank = dy.shape.length;
    const last = dy.shape[rank - 1] as number;
    // A bias-like operand [.., last] broadcast over leading axes: sum rows with a product against
    // a ones column (the WASM Sum kernel transposes first when reducing non-innermost axes). dyᵀ·1
    // rather than 1ᵀ·dy: XNNPACK packs the right operand into its operator and caches that by
    // tensor, so a kept ones column is packed once while a fresh dy would be packed every call
    // (measured on [4096, 64]: 0.44 against 1.14 ms).
    const tail = shape.filter((_, i) => i < shape.length - 1).every((d) => d === 1);
    if (rank >= 2 && tail && (shape[shape.length - 1] ?? 1) === last && last > 1) {
      const rows = dy.size / last;
      const summed = tf.matMul(tf.reshape(dy, [rows, last]), onesColumn(rows), true, false);
      return tf.reshape(summed, shape);
    }
    const axes = tf.broadcast_util.getReductionAxes(shape, dy.shape);
    let r = axes.length > 0 ? tf.sum(dy, axes) : dy;
    // Leading axes that did not exist in the input.
    const extra = r.shape.length - shape.length;
    if (extra > 0) r = tf.sum(r, range(extra));
    return tf.reshape(r, shape);
  };

  const binary = (
    kernelName: string,
    fa: (dy: T, a: T, b: T) => T,
    fb: (dy: T, a: T, b: T) => T,
  ): Tf.GradConfig => ({
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved) => {
      const [a, b] = saved as [T, T];
      const g = dy as T;
      return { a: () => unbroadcast(fa(g, a, b), a.shape), b: () => unbroadcast(fb(g, a, b), b.shape) };
    },
  });

  reg(
    binary(
      'Add',
      (dy) => dy,
      (dy) => dy,
    ),
  );
  reg(
    binary(
      'Sub',
      (dy) => dy,
      (dy) => tf.neg(dy),
    ),
  );
  reg(
    binary(
      'Multiply',
      (dy, _a, b) => tf.mul(dy, b),
      (dy, a) => tf.mul(dy, a),
    ),
  );
  reg(
    binary(
      'RealDiv',
      (dy, _a, b) => tf.div(dy, b),
      (dy, a, b) => tf.neg(tf.div(tf.mul(dy, a), tf.square(b))),
    ),
  );

  /**
   * op(x)·op(y) for rank-2 operands using only the untransposed product: on the WASM backend the
   * XNNPACK path serves plain A·B only (measured: A·Bᵀ is ~7×, Aᵀ·B ~10× slower than transposing
   * explicitly and multiplying). For Aᵀ·B see below.
   */
  const mm2 = (x: T, y: T, tx: boolean, ty: boolean): T => {
    if (x.rank === 3 && y.rank === 3 && x.shape[tx ? 1 : 2] === 1) return outer3(x, y, tx, ty);
    if (x.rank !== 2 || y.rank !== 2) return tf.matMul(x, y, tx, ty);
    if (tx && ty) return transpose2d(tf.matMul(y, x));
    if (ty) return tf.matMul(x, transpose2d(y));
    if (tx) {
      // Measured on [2048, K]ᵀ·[2048, N] with fresh operands (XNNPACK packs the right one each
      // call): a one- or two-column product is cheapest on the plain loop (0.14 against 0.6–1.0 ms),
      // a wide one as (yᵀ·x)ᵀ (N = 384, K = 64: 6.0 against 9.1 ms), everything else as xᵀ·y.
      const k = x.shape[1] as number;
      const n = y.shape[1] as number;
      if (n <= 2) return tf.matMul(x, y, true, false);
      return n >= 3 * k ? transpose2d(tf.matMul(transpose2d(y), x)) : tf.matMul(transpose2d(x), y);
    }
    return tf.matMul(x, y);
  };

  /**
   * op(x)·op(y) for batched operands whose contracted axis has length 1 (outer products, e.g. the
   * gradient of a one-hot row times a matrix): a broadcast multiply, [B,M,1] ⊙ [B,1,N]. The same
   * numbers as the product (one term each), without WASM's batched-product path (0.2 GFLOP/s here).
   */
  const outer3 = (x: T, y: T, tx: boolean, ty: boolean): T => {
    const [b, xr, xc] = x.shape as [number, number, number];
    const [, yr, yc] = y.shape as [number, number, number];
    const m = tx ? xc : xr;
    const n = ty ? yr : yc;
    return tf.mul(tf.reshape(x, [b, m, 1]), tf.reshape(y, [y.shape[0] as number, 1, n]));
  };

  /**
   * Cache-blocked transpose of a tall matrix: [n, m] → [n/32, 32, m] → [n/32, m, 32] → [m, n/32, 32].
   * Measured 3–4× faster than one Transpose of a [4096, 64..256] matrix on WASM.
   */
  const transpose2d = (t: T): T => {
    const [n, m] = t.shape as [number, number];
    const bs = 32;
    if (n < 8 * bs || n % bs !== 0) return tf.transpose(t);
    const blocks = tf.transpose(tf.reshape(t, [n / bs, bs, m]), [0, 2, 1]);
    return tf.reshape(tf.transpose(blocks, [1, 0, 2]), [m, n]);
  };

  reg({
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved as [T, T];
      const g = dy as T;
      const ta = Boolean(attrs['transposeA']);
      const tb = Boolean(attrs['transposeB']);
      // C = op(A)·op(B); the four transpose cases of dA, dB.
      let da: () => T;
      let db: () => T;
      if (!ta && !tb) {
        da = () => mm2(g, b, false, true);
        db = () => mm2(a, g, true, false);
      } else if (!ta && tb) {
        da = () => mm2(g, b, false, false);
        db = () => mm2(g, a, true, false);
      } else if (ta && !tb) {
        da = () => mm2(b, g, false, true);
        db = () => mm2(a, g, false, false);
      } else {
        da = () => mm2(b, g, true, true);
        db = () => mm2(g, a, true, true);
      }
      return { a: () => unbroadcast(da(), a.shape), b: () => unbroadcast(db(), b.shape) };
    },
  });

  reg({
    kernelName: 'Relu',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [T];
      return { x: () => tf.mul(dy as T, tf.step(x, 0)) };
    },
  });

  const reduceGrad = (dy: T, x: T, axisAttr: unknown, scale: number | null): T => {
    const axes = tf.util.parseAxisParam(axisAttr as number | number[], x.shape);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    let g = tf.reshape(dy, kept);
    if (scale !== null) g = tf.mul(g, scale);
    return tf.mul(g, tf.onesLike(x));
  };
  reg({
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [T];
      return { x: () => reduceGrad(dy as T, x, attrs['axis'], null) };
    },
  });
  reg({
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [T];
      const axes = tf.util.parseAxisParam(attrs['axis'] as number | number[], x.shape);
      const n = axes.reduce((p, a) => p * (x.shape[a] ?? 1), 1);
      return { x: () => reduceGrad(dy as T, x, attrs['axis'], 1 / n) };
    },
  });
  reg({
    // dy goes to the positions that hold the maximum (every tied one, as TensorFlow's own rule).
    kernelName: 'Max',
    inputsToSave: ['x'],
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [x, y] = saved as [T, T];
      const axes = tf.util.parseAxisParam(attrs['reductionIndices'] as number | number[], x.shape);
      const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      // 1 where x reaches the maximum: 1 − step(max − x) (step(0) = 0). The same mask as
      // equal(x, max), without the WASM comparison kernels' slow broadcasting path (20 against
      // 0.6 ms on [64, 64, 64]).
      const hit = tf.sub(1, tf.step(tf.sub(tf.reshape(y, kept), x)));
      return { x: () => tf.mul(tf.reshape(dy as T, kept), hit) };
    },
  });

  reg({
    kernelName: 'Exp',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [T];
      return { x: () => tf.mul(dy as T, y) };
    },
  });
  reg({
    kernelName: 'Log',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [T];
      return { x: () => tf.div(dy as T, x) };
    },
  });
  reg({
    kernelName: 'Sqrt',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [T];
      return { x: () => tf.div(dy as T, tf.mul(y, 2)) };
    },
  });
  reg({
    kernelName: 'Rsqrt',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [T];
      // d/dx x^(-1/2) = -1/2 · x^(-3/2)
      return { x: () => tf.mul(dy as T, tf.mul(tf.pow(x, -1.5), -0.5)) };
    },
  });
  reg({
    kernelName: 'Square',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [T];
      return { x: () => tf.mul(dy as T, tf.mul(x, 2)) };
    },
  });
  reg({ kernelName: 'Neg', gradFunc: (dy) => ({ x: () => tf.neg(dy as T) }) });
  reg({ kernelName: 'Cast', gradFunc: (dy) => ({ x: () => tf.clone(dy as T) }) });
  reg({
    kernelName: 'Tanh',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [T];
      return { x: () => tf.mul(dy as T, tf.sub(1, tf.square(y))) };
    },
  });
  reg({
    kernelName: 'Sigmoid',
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved as [T];
      return { x: () => tf.mul(dy as T, tf.mul(y, tf.sub(1, y))) };
    },
  });
  reg({
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: (dy, saved, attrs) => {
      const [y] = saved as [T];
      const dim = attrs['dim'] as number;
      // dx = y ⊙ (dy − Σ dy⊙y)
      return { logits: () => tf.mul(y, tf.sub(dy as T, tf.sum(tf.mul(dy as T, y), dim, true))) };
    },
  });

  reg({
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: (dy, saved) => {
      const [x] = saved as [T];
      return { x: () => tf.reshape(dy as T, x.shape) };
    },
  });
  reg({
    kernelName: 'Transpose',
    gradFunc: (dy, _saved, attrs) => {
      const perm = attrs['perm'] as number[];
      const inverse = new Array<number>(perm.length);
      perm.forEach((p, i) => (inverse[p] = i));
      return { x: () => tf.transpose(dy as T, inverse) };
    },
  });
  reg({
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const inputs = saved as T[];
      const first = inputs[0] as T;
      const axis = tf.util.parseAxisParam(attrs['axis'] as number, first.shape)[0] as number;
      const sizes = inputs.map((t) => t.shape[axis] as number);
      const parts = tf.split(dy as T, sizes, axis);
      const out: Record<string, () => T> = {};
      parts.forEach((p, i) => (out[String(i)] = () => p));
      return out;
    },
  });
  reg({
    kernelName: 'SplitV',
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.concat(dy as T[], attrs['axis'] as number) }),
  });
  reg({
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved as [T];
      const rank = x.shape.length;
      const begin = toArray(attrs['begin'] as number | number[], rank);
      const g = dy as T;
      const paddings = x.shape.map((d, i) => {
        const b = begin[i] ?? 0;
        return [b, d - b - (g.shape[i] ?? 0)] as [number, number];
      });
      return { x: () => tf.pad(g, paddings) };
    },
  });
}

function arraysEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function toArray(v: number | number[], rank: number): number[] {
  return Array.isArray(v) ? v : new Array<number>(rank).fill(v);
}
