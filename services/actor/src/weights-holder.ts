/**
 * The actor's policy weights, hot-swapped from the bus. It watches the `latest` pointer; when it
 * names a newer version, the bytes are fetched (`getWeights` with the pointer's digest), re-hashed
 * here too, and loaded: into the existing policy with setWeights when the architecture matches,
 * otherwise as a new policy. A release whose bytes are missing or do not match the digest is
 * rejected and the old weights stay in use; the next pointer change is tried afresh. A fetch that
 * failed because the bus was unreachable is retried after `retryMs`.
 *
 * Swaps happen as soon as the pointer changes, not only between tasks: sampling is synchronous and
 * reads the (policy, version) pair at one instant, so a group is always drawn by one version and
 * labelled with it, even if a swap lands while another task waits on the env. Loading promptly
 * keeps the broadcast latency at fetch + load time rather than at the length of a task.
 */
import type { Bus, PolicyPointer, Subscription } from '../../../core/bus/index.ts';
import { verifyWeightsDigest } from '../../../core/bus/index.ts';
import { SamVeteranError } from '../../../core/errors/index.ts';
import type { Logger } from '../../../core/log/index.ts';
import { silentLogger } from '../../../core/log/index.ts';
import type { PointerPolicy } from '../../../core/policy/index.ts';
import { decodePolicyFile, loadPolicy, resolvePolicyConfig, weightsOf } from '../../../core/policy/index.ts';
import type { ActorMetrics } from './actor-metrics.ts';
import type { PolicySource } from './run-task.ts';

/** Fetch attempts of one release that failed transiently before it is given up. */
const MAX_TRANSIENT_TRIES = 10;

export interface SwapRecord {
  readonly version: number;
  /** Pointer published → swapped, ms. */
  readonly latencyMs: number;
  /** Fetch + verify + load, ms. */
  readonly loadMs: number;
}

export interface WeightsHolderOptions {
  readonly bus: Bus;
  /** A policy to load weights into (avoids building one); replaced only if the architecture differs. */
  readonly policy?: PointerPolicy;
  readonly logger?: Logger;
  readonly metrics?: ActorMetrics;
  readonly onSwap?: (s: SwapRecord) => void;
  /** Delay before re-fetching a release after a transient failure (bus unreachable), ms. Default 1000. */
  readonly retryMs?: number;
}

export class WeightsHolder implements PolicySource {
  private policy: PointerPolicy | undefined;
  private loaded = 0;
  private latestSeen: PolicyPointer | undefined;
  /** `version@digest` of releases that failed, so the watch does not retry them in a loop. */
  private readonly rejected = new Set<string>();
  private readonly transientTries = new Map<string, number>();
  private sub: Subscription<PolicyPointer> | undefined;
  private loop: Promise<void> | undefined;
  private swapping: Promise<void> = Promise.resolve();
  private readonly waiters = new Set<() => void>();
  private readonly log: Logger;
  private readonly retryMs: number;
  swaps = 0;
  swapFailures = 0;

  constructor(private readonly opts: WeightsHolderOptions) {
    this.policy = opts.policy;
    this.log = opts.logger ?? silentLogger;
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Loaded version; 0 before the first release. */
  get version(): number {
    return this.loaded;
  }

  get latestVersion(): number {
    return this.latestSeen?.version ?? 0;
  }

  get ready(): boolean {
    return this.loaded > 0 && this.policy !== undefined;
  }

  current(): { policy: PointerPolicy; version: number } {
    if (!this.policy || this.loaded === 0) {
      throw new SamVeteranError(
        'FAILED_PRECONDITION',
        'no policy weights loaded yet (waiting for the first release)',
      );
    }
    return { policy: this.policy, version: this.loaded };
  }

  /** Starts watching `latest` (the watch yields the current pointer first). */
  start(): void {
    if (this.sub) return;
    const sub = this.opts.bus.watchLatest();
    this.sub = sub;
    this.loop = (async () => {
      try {
        for await (const p of sub) {
          this.latestSeen = p;
          this.report();
          void this.refresh();
        }
      } catch (err) {
        if (!this.opts.bus.closed) this.log.error({ err }, 'weights watch ended with an error');
      }
    })();
  }

  async stop(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    if (sub) await sub.stop();
    await this.loop;
    await this.swapping;
    for (const w of this.waiters) w();
  }

  /** Resolves once a version ≥ `min` is loaded, or false after `timeoutMs` (or on stop). */
  waitForVersion(min: number, timeoutMs = Infinity): Promise<boolean> {
    if (this.loaded >= Math.max(1, min)) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const check = (): void => {
        if (this.loaded >= Math.max(1, min) || !this.sub) {
          this.waiters.delete(check);
          if (timer) clearTimeout(timer);
          resolve(this.loaded >= Math.max(1, min));
        }
      };
      this.waiters.add(check);
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          this.waiters.delete(check);
          resolve(this.loaded >= Math.max(1, min));
        }, timeoutMs);
        timer.unref();
      }
    });
  }

  /** Loads the newest seen release if it is newer than the loaded one (serialised). */
  refresh(): Promise<void> {
    this.swapping = this.swapping.then(() => this.swapToLatest());
    return this.swapping;
  }

  private async swapToLatest(): Promise<void> {
    const p = this.latestSeen;
    if (!p || p.version <= this.loaded) return;
    const key = `${p.version}@${p.digest}`;
    if (this.rejected.has(key)) return;
    const t0 = performance.now();
    try {
      const bytes = await this.opts.bus.getWeights(p.version, { digest: p.digest });
      verifyWeightsDigest(p.version, bytes, p.digest);
      await this.load(bytes, p.version);
    } catch (err) {
      this.swapFailures++;
      this.opts.metrics?.swapFailed();
      const tries = (this.transientTries.get(key) ?? 0) + 1;
      this.transientTries.set(key, tries);
      if (isTransient(err) && tries < MAX_TRANSIENT_TRIES) {
        // The bus was unreachable: try the same release again shortly.
        this.log.warn({ err, version: p.version }, 'weights fetch failed; retrying');
        if (this.sub) setTimeout(() => void this.refresh(), this.retryMs).unref();
        return;
      }
      this.rejected.add(key);
      this.log.error(
        { err, version: p.version, digest: p.digest, keptVersion: this.loaded },
        'weights release rejected; keeping the loaded weights',
      );
      return;
    }
    const rec: SwapRecord = {
      version: p.version,
      latencyMs: Date.now() - p.publishedAtMs,
      loadMs: performance.now() - t0,
    };
    this.swaps++;
    this.opts.metrics?.swapped(rec.latencyMs / 1000);
    this.report();
    this.log.info(rec, 'policy weights swapped');
    this.opts.onSwap?.(rec);
    for (const w of [...this.waiters]) w();
  }

  private async load(bytes: Uint8Array, version: number): Promise<void> {
    const s = decodePolicyFile(bytes, `weights version ${version}`);
    const current = this.policy;
    if (current && sameArchitecture(current, s.manifest.config)) {
      current.setWeights(weightsOf(s));
    } else {
      // A new architecture (or no policy yet): build one. The old one is not disposed: a task in
      // flight may still hold it; it is garbage once that task ends.
      this.policy = await loadPolicy(bytes, { frozen: true, source: `weights version ${version}` });
    }
    this.loaded = version;
  }

  private report(): void {
    this.opts.metrics?.versions(this.loaded, this.latestVersion);
  }
}

/** Unreachable bus (or an unknown failure, e.g. a socket error): worth fetching again. */
function isTransient(err: unknown): boolean {
  return err instanceof SamVeteranError ? err.code === 'UNAVAILABLE' : true;
}

function sameArchitecture(policy: PointerPolicy, config: unknown): boolean {
  try {
    return JSON.stringify(resolvePolicyConfig(config as never)) === JSON.stringify(policy.config);
  } catch {
    return false;
  }
}
