/**
 * Query templates of the synthetic world. A template plans a scene: it chooses the description
 * (what the query will say) and the object specs that make it answerable (a distractor that
 * differs only in size, two squares for "the second largest square", …). Layout then places the
 * objects and the generator keeps the plan only if the description resolves to exactly one object.
 *
 * In-distribution family (train, id-val): attribute references and simple superlatives/extremes.
 * Out-of-distribution family (ood-val only): held-out colour×shape pairs, ordinals, spatial
 * relations, nearest-object and colour-matching references (two reasoning steps).
 */
import type { Rng } from '../../rng/index.ts';
import type { AttributeFilter, Description, Direction, OrdinalKey, Relation } from './referring.ts';
import type { ObjectSpec } from './scene.ts';
import { COLORS, HELD_OUT_PAIRS, isHeldOutPair, SHAPES, SIZES } from './vocabulary.ts';

export type QueryFamily = 'id' | 'ood';

export interface QueryPlan {
  readonly template: string;
  readonly description: Description;
  readonly specs: ObjectSpec[];
}

interface PlanContext {
  readonly rng: Rng;
  /** Total number of objects to place (2–6). */
  readonly count: number;
  /** Whether held-out colour×shape pairs may appear (ood-val only). */
  readonly allowHeldOut: boolean;
}

type Planner = (ctx: PlanContext) => QueryPlan;

const ALL_SPECS: readonly ObjectSpec[] = SHAPES.flatMap((shape) =>
  COLORS.flatMap((color) => SIZES.map((size) => ({ shape, color, size }))),
);

/**
 * A uniformly random attribute triple among those `accept`ed (and allowed in the split). With
 * `like`, half the time it shares the shape or the colour of `like` when possible — a distractor.
 */
function randomSpec(
  ctx: PlanContext,
  accept: (s: ObjectSpec) => boolean = () => true,
  like?: ObjectSpec,
): ObjectSpec {
  const { rng } = ctx;
  const ok = ALL_SPECS.filter((s) => (ctx.allowHeldOut || !isHeldOutPair(s.color, s.shape)) && accept(s));
  if (ok.length === 0) throw new Error('synthetic templates: no object spec satisfies the constraints');
  if (like !== undefined && rng.bool(0.5)) {
    const byShape = rng.bool();
    const near = ok.filter((s) => (byShape ? s.shape === like.shape : s.color === like.color));
    if (near.length > 0) return rng.pick(near);
  }
  return rng.pick(ok);
}

/** Random other objects up to `ctx.count`, none of which `reject`s (fewer when nothing qualifies). */
function fillers(
  ctx: PlanContext,
  have: number,
  reject: (s: ObjectSpec) => boolean,
  like?: ObjectSpec,
): ObjectSpec[] {
  if (
    SHAPES.every((shape) =>
      COLORS.every(
        (color) => reject({ shape, color, size: 'small' }) && reject({ shape, color, size: 'large' }),
      ),
    )
  ) {
    return [];
  }
  const out: ObjectSpec[] = [];
  for (let i = have; i < ctx.count; i++) out.push(randomSpec(ctx, (s) => !reject(s), like));
  return out;
}

function otherSize(ctx: PlanContext, s: ObjectSpec): ObjectSpec['size'] {
  return ctx.rng.pick(SIZES.filter((z) => z !== s.size));
}

const sameShape = (a: ObjectSpec) => (b: ObjectSpec) => a.shape === b.shape;
const sameColor = (a: ObjectSpec) => (b: ObjectSpec) => a.color === b.color;
const samePair = (a: ObjectSpec) => (b: ObjectSpec) => a.color === b.color && a.shape === b.shape;

/** Category of objects a positional/superlative template ranges over: a shape, a colour, or all. */
function category(ctx: PlanContext, t: ObjectSpec): AttributeFilter {
  const u = ctx.rng.float();
  return u < 0.5 ? { shape: t.shape } : u < 0.8 ? { color: t.color } : {};
}

function inCategory(f: AttributeFilter, s: ObjectSpec): boolean {
  return (f.shape === undefined || f.shape === s.shape) && (f.color === undefined || f.color === s.color);
}

/** Two or three members of a category (so position/size actually matters), plus random others. */
function categoryMembers(ctx: PlanContext, f: AttributeFilter, distinctSizes: boolean): ObjectSpec[] {
  const k = Math.min(ctx.count, ctx.rng.intBetween(2, 3));
  const sizes = ctx.rng.shuffle([...SIZES]);
  const out: ObjectSpec[] = [];
  for (let i = 0; i < k; i++) {
    const size = sizes[i % sizes.length] as ObjectSpec['size'];
    out.push(randomSpec(ctx, (s) => inCategory(f, s) && (!distinctSizes || s.size === size)));
  }
  return out;
}

const ID_PLANNERS: ReadonlyArray<readonly [string, number, Planner]> = [
  [
    'id.color-shape',
    3,
    (ctx) => {
      const t = randomSpec(ctx);
      const specs = [t, ...fillers(ctx, 1, samePair(t), t)];
      return {
        template: 'id.color-shape',
        description: { kind: 'filter', filter: { color: t.color, shape: t.shape } },
        specs,
      };
    },
  ],
  [
    'id.size-color-shape',
    2,
    (ctx) => {
      const t = randomSpec(ctx);
      const d: ObjectSpec = { ...t, size: otherSize(ctx, t) };
      const specs = [t, d, ...fillers(ctx, 2, samePair(t), t)];
      return { template: 'id.size-color-shape', description: { kind: 'filter', filter: { ...t } }, specs };
    },
  ],
  [
    'id.size-shape',
    1.5,
    (ctx) => {
      const t = randomSpec(ctx);
      const d = randomSpec(ctx, (s) => s.shape === t.shape && s.size !== t.size);
      const specs = [t, d, ...fillers(ctx, 2, (s) => s.shape === t.shape && s.size === t.size, t)];
      return {
        template: 'id.size-shape',
        description: { kind: 'filter', filter: { size: t.size, shape: t.shape } },
        specs,
      };
    },
  ],
  [
    'id.shape',
    1,
    (ctx) => {
      const t = randomSpec(ctx);
      const specs = [t, ...fillers(ctx, 1, sameShape(t), t)];
      return { template: 'id.shape', description: { kind: 'filter', filter: { shape: t.shape } }, specs };
    },
  ],
  [
    'id.color',
    1.5,
    (ctx) => {
      const t = randomSpec(ctx);
      const specs = [t, ...fillers(ctx, 1, sameColor(t), t)];
      return { template: 'id.color', description: { kind: 'filter', filter: { color: t.color } }, specs };
    },
  ],
  [
    'id.extreme',
    2.5,
    (ctx) => {
      const f = category(ctx, randomSpec(ctx));
      const members = categoryMembers(ctx, f, false);
      const dir: Direction = ctx.rng.pick(['left', 'right', 'top', 'bottom'] as const);
      const specs = [...members, ...fillers(ctx, members.length, () => false)];
      return { template: 'id.extreme', description: { kind: 'extreme', filter: f, dir }, specs };
    },
  ],
  [
    'id.superlative',
    2,
    (ctx) => {
      const f = category(ctx, randomSpec(ctx));
      const members = categoryMembers(ctx, f, true);
      const which = ctx.rng.pick(['largest', 'smallest'] as const);
      const specs = [...members, ...fillers(ctx, members.length, (s) => inCategory(f, s))];
      return { template: 'id.superlative', description: { kind: 'superlative', filter: f, which }, specs };
    },
  ],
];

/** A reference object that its own description picks out uniquely, and the filter that excludes look-alikes. */
function reference(ctx: PlanContext): {
  spec: ObjectSpec;
  ref: Description;
  clash: (s: ObjectSpec) => boolean;
} {
  const spec = randomSpec(ctx);
  const u = ctx.rng.float();
  if (u < 0.4)
    return { spec, ref: { kind: 'filter', filter: { color: spec.color } }, clash: sameColor(spec) };
  if (u < 0.7)
    return { spec, ref: { kind: 'filter', filter: { shape: spec.shape } }, clash: sameShape(spec) };
  return {
    spec,
    ref: { kind: 'filter', filter: { color: spec.color, shape: spec.shape } },
    clash: samePair(spec),
  };
}

const OOD_PLANNERS: ReadonlyArray<readonly [string, number, Planner]> = [
  [
    'ood.combo-color-shape',
    2,
    (ctx) => {
      const [color, shape] = ctx.rng.pick(HELD_OUT_PAIRS);
      const t: ObjectSpec = { color, shape, size: ctx.rng.pick(SIZES) };
      const specs = [t, ...fillers(ctx, 1, samePair(t), t)];
      return {
        template: 'ood.combo-color-shape',
        description: { kind: 'filter', filter: { color, shape } },
        specs,
      };
    },
  ],
  [
    'ood.combo-size-color-shape',
    1,
    (ctx) => {
      const [color, shape] = ctx.rng.pick(HELD_OUT_PAIRS);
      const t: ObjectSpec = { color, shape, size: ctx.rng.pick(SIZES) };
      const d: ObjectSpec = { ...t, size: otherSize(ctx, t) };
      const specs = [t, d, ...fillers(ctx, 2, samePair(t), t)];
      return {
        template: 'ood.combo-size-color-shape',
        description: { kind: 'filter', filter: { ...t } },
        specs,
      };
    },
  ],
  [
    'ood.ordinal',
    1.5,
    (ctx) => {
      const shape = ctx.rng.pick(SHAPES);
      const by: OrdinalKey = ctx.rng.pick(['largest', 'smallest', 'left', 'top'] as const);
      const members = categoryMembers(ctx, { shape }, by === 'largest' || by === 'smallest');
      const specs = [...members, ...fillers(ctx, members.length, (s) => s.shape === shape)];
      return {
        template: 'ood.ordinal',
        description: { kind: 'ordinal', filter: { shape }, rank: 2, by },
        specs,
      };
    },
  ],
  [
    'ood.relation',
    2,
    (ctx) => {
      const { spec, ref, clash } = reference(ctx);
      const relation: Relation = ctx.rng.pick(['below', 'above', 'left of', 'right of'] as const);
      const specs = [spec, ...fillers(ctx, 1, clash)];
      return {
        template: 'ood.relation',
        description: { kind: 'relation', filter: {}, relation, ref },
        specs,
      };
    },
  ],
  [
    'ood.closest',
    1,
    (ctx) => {
      const { spec, ref, clash } = reference(ctx);
      const specs = [spec, ...fillers(ctx, 1, clash)];
      return { template: 'ood.closest', description: { kind: 'closest', filter: {}, ref }, specs };
    },
  ],
  [
    'ood.same-color-as',
    1.5,
    (ctx) => {
      const r = randomSpec(ctx);
      const ref: Description = { kind: 'filter', filter: { shape: r.shape } };
      const t = randomSpec(ctx, (s) => s.color === r.color && s.shape !== r.shape);
      if (ctx.rng.bool()) {
        // "the shape with the same color as the star that is not a star": t is the only other one of r's colour.
        const specs = [r, t, ...fillers(ctx, 2, (s) => s.shape === r.shape || s.color === r.color, t)];
        return {
          template: 'ood.same-color-as',
          description: { kind: 'same-color-as', filter: {}, ref },
          specs,
        };
      }
      // "the circle with the same color as the star": other circles exist, in other colours.
      const d = randomSpec(ctx, (s) => s.shape === t.shape && s.color !== r.color);
      const specs = [
        r,
        t,
        d,
        ...fillers(ctx, 3, (s) => s.shape === r.shape || (s.color === r.color && s.shape === t.shape), t),
      ];
      return {
        template: 'ood.same-color-as-shape',
        description: { kind: 'same-color-as', filter: { shape: t.shape }, ref },
        specs,
      };
    },
  ],
];

export function templatesFor(family: QueryFamily): ReadonlyArray<readonly [string, number, Planner]> {
  return family === 'id' ? ID_PLANNERS : OOD_PLANNERS;
}

/** Draws a template of the family by weight and plans a scene with `count` objects. */
export function planQuery(family: QueryFamily, count: number, rng: Rng): QueryPlan {
  const planners = templatesFor(family);
  const [, , planner] = planners[rng.categorical(planners.map(([, w]) => w))] as readonly [
    string,
    number,
    Planner,
  ];
  return planner({ rng, count: Math.max(2, count), allowHeldOut: family === 'ood' });
}

/** Every template id, by family (for documentation and tests). */
export const TEMPLATE_IDS: Readonly<Record<QueryFamily, readonly string[]>> = {
  id: ID_PLANNERS.map(([id]) => id),
  ood: [...OOD_PLANNERS.map(([id]) => id), 'ood.same-color-as-shape'],
};
