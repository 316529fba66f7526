/**
 * `grabcut`: OpenCV's GrabCut (Rother et al., "GrabCut — interactive foreground extraction using
 * iterated graph cuts", SIGGRAPH 2004) as a CPU stand-in for SAM. It must behave like SAM does for an
 * agent, so prompts map onto GrabCut's four labels at a small working resolution:
 *
 *  - box → everything outside is definite background; inside is probable foreground (or, when the
 *    previous mask / logits are given, probable foreground/background as they say).
 *  - positive point → a definite-foreground disk; the same-coloured region connected to it becomes
 *    probable foreground and the working rectangle grows to include it (a click on a part the box
 *    cut off brings that part in, as with SAM).
 *  - negative point → a definite-background disk; its same-coloured connected region inside the
 *    rectangle becomes probable background (a click on an extra object removes it).
 *
 * The working-resolution result is bilinearly upsampled and thresholded at 0.5. The "predicted IoU"
 * is a heuristic (IoU of the mask's tight box with the prompt rectangle); stability is the agreement
 * of the upsampled mask at thresholds 0.25 and 0.75. Low-res logits (lowResSize², ±8) are returned
 * so actors can use the same feedback protocol as with SAM.
 */
import { boxIou, type Box } from '../../../../core/geometry/index.ts';
import { BinaryMask } from '../../../../core/mask/index.ts';
import type {
  EnvImage,
  EnvModel,
  ImageEmbedding,
  ModelInfo,
  TransitionOutput,
  TransitionPrompt,
} from '../model.ts';
import { loadOpenCv, withMats, type OpenCv } from './opencv.ts';
import { resampleBilinear } from './resample.ts';

export interface GrabCutOptions {
  /** Long side of the working image in pixels. Default 128. */
  readonly workingSize?: number;
  /** GrabCut iterations per transition. Default 3. */
  readonly iterations?: number;
  /** Radius of a point's definite disk as a fraction of the working long side (min 1.5 px). Default 0.025. */
  readonly pointRadiusFrac?: number;
  /** Max RGB distance (0–441) from a clicked colour for the point's same-colour region. Default 48. */
  readonly colorTolerance?: number;
  /** Side of the low-res logit grid. Default 64. */
  readonly lowResSize?: number;
  /** Max points per prompt. Default 16. */
  readonly maxPoints?: number;
  /** Max prompts per decode call. Default 16. */
  readonly maxBatch?: number;
}

interface GrabCutEmbedding extends ImageEmbedding {
  readonly w: number;
  readonly h: number;
  /** Working-resolution RGB. */
  readonly rgb: Uint8Array;
}

const GC_BGD = 0;
const GC_FGD = 1;
const GC_PR_BGD = 2;
const GC_PR_FGD = 3;
const LOGIT_SCALE = 16;

type Rect = [x1: number, y1: number, x2: number, y2: number];

export class GrabCutModel implements EnvModel<GrabCutEmbedding> {
  readonly info: ModelInfo;
  private cv: OpenCv | undefined;
  private readonly workingSize: number;
  private readonly iterations: number;
  private readonly radiusFrac: number;
  private readonly tol2: number;

  constructor(opts: GrabCutOptions = {}) {
    this.workingSize = opts.workingSize ?? 128;
    this.iterations = opts.iterations ?? 3;
    this.radiusFrac = opts.pointRadiusFrac ?? 0.025;
    this.tol2 = (opts.colorTolerance ?? 48) ** 2;
    this.info = {
      id: `grabcut@${this.workingSize}`,
      family: 'grabcut',
      inputSize: this.workingSize,
      supportsMaskInput: true,
      lowResSize: opts.lowResSize ?? 64,
      maxPoints: opts.maxPoints ?? 16,
      maxBatch: opts.maxBatch ?? 16,
    };
  }

  async init(): Promise<void> {
    this.cv = (await loadOpenCv()).cv;
    // Warm-up: the first grabCut call pays for WebAssembly compilation of its code paths.
    const w = 32;
    const rgb = new Uint8Array(w * w * 3);
    for (let i = 0; i < w * w; i++) {
      const inside = Math.hypot((i % w) - 16, Math.floor(i / w) - 16) < 8;
      rgb.fill(inside ? 200 : 30, i * 3, i * 3 + 3);
      rgb[i * 3 + 1] = (i * 37) % 50;
    }
    const img: EnvImage = { digest: 'warmup', width: w, height: w, rgb };
    await this.decode(await this.embed(img), img, [{ box: [6, 6, 26, 26], points: [] }]);
  }

  private requireCv(): OpenCv {
    if (!this.cv) throw new Error('GrabCutModel.init() was not awaited');
    return this.cv;
  }

  async embed(image: EnvImage): Promise<GrabCutEmbedding> {
    const cv = this.requireCv();
    const s = Math.min(1, this.workingSize / Math.max(image.width, image.height));
    const w = Math.max(1, Math.round(image.width * s));
    const h = Math.max(1, Math.round(image.height * s));
    if (w === image.width && h === image.height)
      return { w, h, rgb: image.rgb.slice(), byteSize: image.rgb.length };
    const src = cv.matFromArray(image.height, image.width, cv.CV_8UC3, image.rgb);
    const dst = new cv.Mat();
    const rgb = withMats([src, dst], () => {
      cv.resize(src, dst, new cv.Size(w, h), 0, 0, cv.INTER_AREA);
      return dst.data.slice();
    });
    return { w, h, rgb, byteSize: rgb.length };
  }

  async decode(
    emb: GrabCutEmbedding,
    image: EnvImage,
    prompts: readonly TransitionPrompt[],
  ): Promise<TransitionOutput[]> {
    return prompts.map((p) => this.decodeOne(emb, image, p));
  }

  async close(): Promise<void> {}

  private decodeOne(emb: GrabCutEmbedding, image: EnvImage, prompt: TransitionPrompt): TransitionOutput {
    const { small, rect } = this.segment(emb, image, prompt);
    return this.output(small, emb, image, rect);
  }

  /** Working-resolution 0/1 mask and the (possibly grown) working rectangle. */
  private segment(
    emb: GrabCutEmbedding,
    image: EnvImage,
    prompt: TransitionPrompt,
  ): { small: Uint8Array; rect: Rect } {
    const { w, h } = emb;
    const sx = w / image.width;
    const sy = h / image.height;
    const r = Math.max(1.5, this.radiusFrac * Math.max(w, h));
    const rect: Rect = [
      clampInt(Math.floor(prompt.box[0] * sx), 0, w - 1),
      clampInt(Math.floor(prompt.box[1] * sy), 0, h - 1),
      clampInt(Math.ceil(prompt.box[2] * sx), 1, w),
      clampInt(Math.ceil(prompt.box[3] * sy), 1, h),
    ];
    if (rect[2] <= rect[0]) rect[2] = rect[0] + 1;
    if (rect[3] <= rect[1]) rect[3] = rect[1] + 1;
    const boxArea = (rect[2] - rect[0]) * (rect[3] - rect[1]);
    const floodLimit = Math.max(4 * boxArea, 64);
    const pos = prompt.points
      .filter((p) => p.label === 1)
      .map((p) => [p.point[0] * sx, p.point[1] * sy] as const);
    const neg = prompt.points
      .filter((p) => p.label === 0)
      .map((p) => [p.point[0] * sx, p.point[1] * sy] as const);

    // Previous mask (logits preferred) at working resolution, as 0/1.
    let prev: Float32Array | undefined;
    if (prompt.prevLogits) {
      const l = prompt.prevLogits;
      prev = resampleBilinear(l.data, l.width, l.height, w, h).map((v) => (v > 0 ? 1 : 0));
    } else if (prompt.prevMask) {
      prev = resampleBilinear(prompt.prevMask.data, image.width, image.height, w, h).map((v) =>
        v >= 0.5 ? 1 : 0,
      );
    } else if (prompt.points.length > 0) {
      // Clicks refine a mask; without the previous one, start from the box-only mask (as the agent saw it).
      prev = Float32Array.from(this.segment(emb, image, { box: prompt.box, points: [] }).small);
    }

    // Positive points pull the rectangle out to their same-coloured region.
    const posRegions: (Uint32Array | undefined)[] = pos.map((p) => {
      const region = this.flood(emb, p, [0, 0, w, h], floodLimit);
      const ext: Rect = region
        ? regionBounds(region, w)
        : [p[0] - 3 * r, p[1] - 3 * r, p[0] + 3 * r, p[1] + 3 * r];
      rect[0] = clampInt(Math.min(rect[0], Math.floor(ext[0]) - 1), 0, w - 1);
      rect[1] = clampInt(Math.min(rect[1], Math.floor(ext[1]) - 1), 0, h - 1);
      rect[2] = clampInt(Math.max(rect[2], Math.ceil(ext[2]) + 1), 1, w);
      rect[3] = clampInt(Math.max(rect[3], Math.ceil(ext[3]) + 1), 1, h);
      return region;
    });

    // GrabCut runs on the rectangle's crop only. Its 1-px border is probable background and is the
    // background colour model's main sample; pixels farther out never enter the model. (On the whole
    // image, a box that cuts an object puts the cut-off part into the background model, and GrabCut
    // then returns an empty mask — SAM returns the part inside the box, and so does this.)
    const cw = rect[2] - rect[0];
    const ch = rect[3] - rect[1];
    const small = new Uint8Array(w * h);
    if (cw < 4 || ch < 4) {
      for (let y = rect[1]; y < rect[3]; y++) small.fill(1, y * w + rect[0], y * w + rect[2]);
      return { small, rect };
    }
    const full = new Uint8Array(w * h); // labels in working coordinates, GC_BGD outside the crop
    for (let y = rect[1]; y < rect[3]; y++) {
      for (let x = rect[0]; x < rect[2]; x++) {
        const i = y * w + x;
        const ring = x === rect[0] || y === rect[1] || x === rect[2] - 1 || y === rect[3] - 1;
        full[i] = ring ? GC_PR_BGD : prev ? (prev[i] ? GC_PR_FGD : GC_PR_BGD) : GC_PR_FGD;
      }
    }
    for (const region of posRegions) if (region) for (const i of region) full[i] = GC_PR_FGD;
    for (const p of neg) {
      const region = this.flood(emb, p, rect, floodLimit);
      if (region) for (const i of region) full[i] = GC_PR_BGD;
    }
    for (const p of pos) paintDisk(full, w, h, p, r, GC_FGD);
    for (const p of neg) paintDisk(full, w, h, p, r, GC_BGD);

    const init = new Uint8Array(cw * ch);
    const crop = new Uint8Array(cw * ch * 3);
    let hasBg = false;
    let hasFg = false;
    for (let y = 0; y < ch; y++) {
      const src = (y + rect[1]) * w + rect[0];
      init.set(full.subarray(src, src + cw), y * cw);
      crop.set(emb.rgb.subarray(src * 3, (src + cw) * 3), y * cw * 3);
    }
    for (const v of init) {
      if (v === GC_BGD || v === GC_PR_BGD) hasBg = true;
      else hasFg = true;
      if (hasBg && hasFg) break;
    }
    if (!hasFg || !hasBg) {
      // Nothing to separate: all definite/probable foreground (or background) stays as labelled.
      for (let y = 0; y < ch; y++) {
        for (let x = 0; x < cw; x++) {
          const v = init[y * cw + x];
          small[(y + rect[1]) * w + x + rect[0]] = v === GC_FGD || v === GC_PR_FGD ? 1 : 0;
        }
      }
      return { small, rect };
    }

    const labels = this.grabCut(crop, cw, ch, init);
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const v = labels[y * cw + x];
        small[(y + rect[1]) * w + x + rect[0]] = v === GC_FGD || v === GC_PR_FGD ? 1 : 0;
      }
    }
    return { small, rect };
  }

  private grabCut(rgb: Uint8Array, w: number, h: number, init: Uint8Array): Uint8Array {
    const cv = this.requireCv();
    const img = cv.matFromArray(h, w, cv.CV_8UC3, rgb);
    const mask = cv.matFromArray(h, w, cv.CV_8UC1, init);
    const bgd = new cv.Mat();
    const fgd = new cv.Mat();
    return withMats([img, mask, bgd, fgd], () => {
      try {
        // GrabCut seeds its colour models with k-means on OpenCV's global RNG; reseeding per call makes
        // a transition a pure function of (image, prompt), whatever ran before on this thread.
        (cv as unknown as { setRNGSeed(seed: number): void }).setRNGSeed(0x5eed);
        cv.grabCut(img, mask, new cv.Rect(0, 0, w, h), bgd, fgd, this.iterations, cv.GC_INIT_WITH_MASK);
      } catch (err) {
        // OpenCV.js throws the C++ exception as a bare heap pointer.
        throw new Error(
          `GrabCut failed (${typeof err === 'number' ? `OpenCV exception ${err}` : String(err)})`,
        );
      }
      return mask.data.slice();
    });
  }

  /** Upsamples the working mask to the image, with stability, heuristic IoU and low-res logits. */
  private output(small: Uint8Array, emb: GrabCutEmbedding, image: EnvImage, rect: Rect): TransitionOutput {
    const W = image.width;
    const H = image.height;
    const soft = resampleBilinear(small, emb.w, emb.h, W, H);
    const data = new Uint8Array(W * H);
    let loose = 0;
    let tight = 0;
    let x1 = W;
    let y1 = H;
    let x2 = 0;
    let y2 = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const v = soft[y * W + x] as number;
        if (v > 0.25) loose++;
        if (v > 0.75) tight++;
        if (v >= 0.5) {
          data[y * W + x] = 1;
          if (x < x1) x1 = x;
          if (y < y1) y1 = y;
          if (x + 1 > x2) x2 = x + 1;
          if (y + 1 > y2) y2 = y + 1;
        }
      }
    }
    const L = this.info.lowResSize;
    const lowSoft = resampleBilinear(small, emb.w, emb.h, L, L);
    const logits = new Float32Array(L * L);
    for (let i = 0; i < logits.length; i++) logits[i] = ((lowSoft[i] as number) - 0.5) * LOGIT_SCALE;
    const fullRect: Box = [
      rect[0] / (emb.w / W),
      rect[1] / (emb.h / H),
      rect[2] / (emb.w / W),
      rect[3] / (emb.h / H),
    ];
    const predictedIou = x2 > x1 ? boxIou([x1, y1, x2, y2], fullRect) : 0;
    return {
      mask: new BinaryMask(W, H, data),
      lowResLogits: { width: L, height: L, data: logits },
      predictedIou,
      stability: loose > 0 ? tight / loose : 1,
    };
  }

  /**
   * Pixels 4-connected to `seed` whose colour is within the tolerance of the seed's 3×3 mean colour,
   * inside `bounds`; undefined when the region would exceed `limit` pixels (it leaked).
   */
  private flood(
    emb: GrabCutEmbedding,
    seed: readonly [number, number],
    bounds: Rect,
    limit: number,
  ): Uint32Array | undefined {
    const { w, h, rgb } = emb;
    const sx = clampInt(Math.floor(seed[0]), 0, w - 1);
    const sy = clampInt(Math.floor(seed[1]), 0, h - 1);
    if (sx < bounds[0] || sx >= bounds[2] || sy < bounds[1] || sy >= bounds[3]) return undefined;
    let r0 = 0;
    let g0 = 0;
    let b0 = 0;
    let n = 0;
    for (let y = Math.max(0, sy - 1); y <= Math.min(h - 1, sy + 1); y++) {
      for (let x = Math.max(0, sx - 1); x <= Math.min(w - 1, sx + 1); x++) {
        const i = (y * w + x) * 3;
        r0 += rgb[i] as number;
        g0 += rgb[i + 1] as number;
        b0 += rgb[i + 2] as number;
        n++;
      }
    }
    r0 /= n;
    g0 /= n;
    b0 /= n;
    const seen = new Uint8Array(w * h);
    const out: number[] = [];
    const stack = [sy * w + sx];
    seen[sy * w + sx] = 1;
    while (stack.length > 0) {
      const i = stack.pop() as number;
      const dr = (rgb[i * 3] as number) - r0;
      const dg = (rgb[i * 3 + 1] as number) - g0;
      const db = (rgb[i * 3 + 2] as number) - b0;
      if (dr * dr + dg * dg + db * db > this.tol2 && out.length > 0) continue;
      out.push(i);
      if (out.length > limit) return undefined;
      const x = i % w;
      const y = (i - x) / w;
      const visit = (j: number) => {
        if (!seen[j]) {
          seen[j] = 1;
          stack.push(j);
        }
      };
      if (x > bounds[0]) visit(i - 1);
      if (x + 1 < bounds[2]) visit(i + 1);
      if (y > bounds[1]) visit(i - w);
      if (y + 1 < bounds[3]) visit(i + w);
    }
    return Uint32Array.from(out);
  }
}

function clampInt(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function regionBounds(region: Uint32Array, w: number): Rect {
  let x1 = Infinity;
  let y1 = Infinity;
  let x2 = -Infinity;
  let y2 = -Infinity;
  for (const i of region) {
    const x = i % w;
    const y = (i - x) / w;
    if (x < x1) x1 = x;
    if (y < y1) y1 = y;
    if (x + 1 > x2) x2 = x + 1;
    if (y + 1 > y2) y2 = y + 1;
  }
  return [x1, y1, x2, y2];
}

function paintDisk(
  labels: Uint8Array,
  w: number,
  h: number,
  c: readonly [number, number],
  r: number,
  v: number,
): void {
  const x0 = Math.max(0, Math.floor(c[0] - r));
  const x1 = Math.min(w - 1, Math.ceil(c[0] + r));
  const y0 = Math.max(0, Math.floor(c[1] - r));
  const y1 = Math.min(h - 1, Math.ceil(c[1] + r));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if ((x + 0.5 - c[0]) ** 2 + (y + 0.5 - c[1]) ** 2 <= r * r) labels[y * w + x] = v;
    }
  }
}

export function createGrabCutModel(opts: GrabCutOptions = {}): GrabCutModel {
  return new GrabCutModel(opts);
}
