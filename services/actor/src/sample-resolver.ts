/**
 * Resolves a task's sample from its dataset spec and index (the learner sends references, not
 * pixels): datasets are opened once per spec and kept; recently used samples are kept in a small
 * LRU with their image digest, because one sample is often the subject of several tasks.
 */
import type { Dataset, Sample } from '../../../core/data/index.ts';
import { datasetFromSpec } from '../../../core/data/index.ts';
import { ValidationError } from '../../../core/errors/index.ts';
import { rgbDigest } from '../../../core/wire/index.ts';

/** A sample with the digest the env and the learner know its image by. */
export interface ResolvedSample {
  readonly dataset: string;
  readonly index: number;
  readonly sample: Sample;
  /** sha256 hex of the raw RGB bytes. */
  readonly digest: string;
}

export interface SampleResolverOptions {
  /** Samples kept in memory. Default 64. */
  readonly cacheSamples?: number;
  /** Opens a dataset by spec. Default core/data's datasetFromSpec. */
  readonly open?: (spec: string) => Promise<Dataset>;
}

export class SampleResolver {
  private readonly datasets = new Map<string, Promise<Dataset>>();
  private readonly samples = new Map<string, Promise<ResolvedSample>>();
  private readonly capacity: number;
  private readonly open: (spec: string) => Promise<Dataset>;

  constructor(opts: SampleResolverOptions = {}) {
    this.capacity = Math.max(1, opts.cacheSamples ?? 64);
    this.open = opts.open ?? ((spec) => datasetFromSpec(spec));
  }

  /** The sample `sampleId` (a decimal index) of dataset `spec`; ValidationError for bad references. */
  resolve(spec: string, sampleId: string): Promise<ResolvedSample> {
    const index = Number(sampleId);
    if (!/^\d+$/.test(sampleId) || !Number.isSafeInteger(index)) {
      return Promise.reject(new ValidationError('sampleId', sampleId, 'must be a decimal sample index'));
    }
    const key = `${spec}\u0000${index}`;
    const hit = this.samples.get(key);
    if (hit) {
      this.samples.delete(key);
      this.samples.set(key, hit);
      return hit;
    }
    const p = this.dataset(spec).then(async (ds) => {
      const sample = await ds.get(index);
      return { dataset: spec, index, sample, digest: rgbDigest(sample.image.rgb) };
    });
    this.samples.set(key, p);
    // A failed lookup must not stay cached.
    p.catch(() => this.samples.delete(key));
    while (this.samples.size > this.capacity) {
      const oldest = this.samples.keys().next().value;
      if (oldest === undefined) break;
      this.samples.delete(oldest);
    }
    return p;
  }

  private dataset(spec: string): Promise<Dataset> {
    let ds = this.datasets.get(spec);
    if (!ds) {
      ds = this.open(spec);
      this.datasets.set(spec, ds);
      ds.catch(() => this.datasets.delete(spec));
    }
    return ds;
  }
}
