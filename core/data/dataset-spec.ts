/**
 * One string names any dataset, for CLIs and configs:
 *
 *   synthetic:<split>[?n=N&seed=S&size=PX]   generated on the fly (split: train | id-val | ood-val)
 *   reasonseg:<dir>                          a ReasonSeg/LISA split folder
 *   refcoco:<dir>[:<split>]                  RefCOCO/+/g folder, optionally one split
 *   <dir>                                    a sam-veteran-dataset folder (manifest.json)
 *
 * Paths may be relative; a Windows drive letter ("C:\…") is not mistaken for a prefix.
 */
import { ValidationError } from '../errors/index.ts';
import { openSamDataset } from './io/dataset-reader.ts';
import { openReasonSeg } from './loaders/reasonseg.ts';
import { openRefCoco } from './loaders/refcoco.ts';
import type { Dataset } from './sample.ts';
import {
  isSyntheticSplit,
  SYNTHETIC_SPLITS,
  syntheticDataset,
  type SyntheticOptions,
} from './synthetic/generate.ts';

export interface DatasetSpecDefaults {
  /** Sample count for synthetic specs without `n` (default: the split's DEFAULT_SYNTHETIC_COUNT). */
  n?: number;
  /** Seed for synthetic specs without `seed` (default 0). */
  seed?: number;
  /** Image size for synthetic specs without `size` (default 256). */
  size?: number;
}

function intParam(params: URLSearchParams, key: string, spec: string): number | undefined {
  const v = params.get(key);
  if (v === null) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new ValidationError(`${spec} ${key}`, v, 'must be an integer');
  return n;
}

/** Resolves a dataset spec (see the file header) to a Dataset. */
export async function datasetFromSpec(spec: string, defaults: DatasetSpecDefaults = {}): Promise<Dataset> {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw new ValidationError('data', spec, 'must be a dataset spec');
  const m = /^(synthetic|reasonseg|refcoco):(.*)$/.exec(spec);
  if (m === null) return openSamDataset(spec);
  const [, kind, rest] = m as unknown as [string, string, string];
  if (kind === 'synthetic') {
    const [split, query = ''] = rest.split('?', 2) as [string, string?];
    if (!isSyntheticSplit(split)) {
      throw new ValidationError(
        'data',
        spec,
        `has unknown synthetic split "${split}" (use ${SYNTHETIC_SPLITS.join(', ')})`,
      );
    }
    const params = new URLSearchParams(query);
    for (const key of params.keys()) {
      if (!['n', 'seed', 'size'].includes(key))
        throw new ValidationError('data', spec, `has unknown parameter "${key}" (use n, seed, size)`);
    }
    const n = intParam(params, 'n', spec) ?? defaults.n;
    const seed = intParam(params, 'seed', spec) ?? defaults.seed;
    const size = intParam(params, 'size', spec) ?? defaults.size;
    const opts: SyntheticOptions = {
      ...(seed !== undefined ? { seed } : {}),
      ...(size !== undefined ? { size } : {}),
    };
    const ds = syntheticDataset(split, n, opts);
    return ds;
  }
  if (rest === '') throw new ValidationError('data', spec, `needs a folder after "${kind}:"`);
  if (kind === 'reasonseg') return openReasonSeg(rest);
  // refcoco:<dir>[:<split>] — the split is the part after the last ':' unless that part is a path
  // (contains a separator) or the ':' belongs to a drive letter.
  const cut = rest.lastIndexOf(':');
  if (cut > 1 && !/[/\\]/.test(rest.slice(cut + 1))) {
    return openRefCoco(rest.slice(0, cut), { split: rest.slice(cut + 1) });
  }
  return openRefCoco(rest);
}
