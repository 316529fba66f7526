import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig, SamVeteranConfigSchema } from '../../core/config/index.ts';
import { SamVeteranError } from '../../core/errors/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'samv-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeJson(name: string, data: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, typeof data === 'string' ? data : JSON.stringify(data));
  return p;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect(e).toBeInstanceOf(SamVeteranError);
    expect((e as ConfigError).code).toBe('CONFIG');
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('are the paper values', () => {
    const c = loadConfig(SamVeteranConfigSchema, { env: {} });
    expect(c.learner).toMatchObject({
      batchStates: 16,
      groupSize: 8,
      weightDecay: 0.01,
      klCoef: 0.005,
      clipEps: 0.2,
      advantageMode: 'reinforce++',
    });
    expect(c.actor.groupSize).toBe(8);
    expect(c.actor.sampling.maxRefinements).toBe(3);
    expect(c.actor.taskMix).toEqual({ localization: 1, maskUnderstanding: 1, auxiliary: 1 });
    expect(c.samEnv).toMatchObject({ port: 50051, model: 'grabcut', maxBatch: 16 });
    expect(c.samEnv.limits.maxPoints).toBe(16);
    expect(c.rewards).toMatchObject({
      goodEnoughIou: 0.9,
      deltaThresholds: [0, 0.1, 0.5],
      boxL1ReferenceSizePx: 840,
    });
  });
});

describe('merging: defaults ← file ← env ← overrides', () => {
  it('applies each layer over the previous one', () => {
    const file = writeJson('layers.json', {
      learner: { batchStates: 4, groupSize: 4, checkpointDir: 'from-file' },
      actor: { envAddresses: ['file:1'] },
    });
    const c = loadConfig(SamVeteranConfigSchema, {
      file,
      env: {
        SAMV_LEARNER__BATCH_STATES: '32',
        SAMV_ACTOR__TASK_MIX__AUXILIARY: '0.5',
        PATH: '/bin',
        OTHER_LEARNER__X: '1',
      },
      overrides: { learner: { groupSize: 2 } },
    });
    expect(c.learner.batchStates).toBe(32); // env over file
    expect(c.learner.groupSize).toBe(2); // override over file
    expect(c.learner.checkpointDir).toBe('from-file'); // file over default
    expect(c.learner.klCoef).toBe(0.005); // default
    expect(c.actor.envAddresses).toEqual(['file:1']);
    expect(c.actor.taskMix).toEqual({ localization: 1, maskUnderstanding: 1, auxiliary: 0.5 });
  });

  it('reads env values as JSON, keeps string keys raw, and splits string lists on commas', () => {
    const c = loadConfig(SamVeteranConfigSchema, {
      env: {
        SAMV_LEARNER__CHECKPOINT_DIR: '123',
        SAMV_LEARNER__ADVANTAGE_MODE: 'group',
        SAMV_ACTOR__ENV_ADDRESSES: 'a:1, b:2',
        SAMV_REWARDS__DELTA_THRESHOLDS: '[0, 0.2, 0.4]',
        SAMV_REWARDS__DELTA_ON_GOOD_ENOUGH: 'false',
        SAMV_SAM_ENV: '{"port": 0}',
      },
    });
    expect(c.learner.checkpointDir).toBe('123');
    expect(c.learner.advantageMode).toBe('group');
    expect(c.actor.envAddresses).toEqual(['a:1', 'b:2']);
    expect(c.rewards.deltaThresholds).toEqual([0, 0.2, 0.4]);
    expect(c.rewards.deltaOnGoodEnough).toBe(false);
    expect(c.samEnv.port).toBe(0);
    expect(c.samEnv.host).toBe('0.0.0.0');
  });

  it('carries bus settings and metrics ports, leaving unset bus fields to core/bus', () => {
    const c = loadConfig(SamVeteranConfigSchema, {
      env: {
        SAMV_BUS__REPLICAS: '3',
        SAMV_BUS__TASKS__ACK_WAIT_MS: '5000',
        SAMV_ACTOR__METRICS_PORT: '9464',
        SAMV_LEARNER__METRICS_PORT: 'null',
      },
    });
    expect(c.bus).toEqual({ replicas: 3, tasks: { ackWaitMs: 5000 }, groups: {} });
    expect(c.actor.metricsPort).toBe(9464);
    expect(c.learner.metricsPort).toBeNull();
    expect(c.samEnv.metricsPort).toBeNull();
    const e = configError(() => loadConfig(SamVeteranConfigSchema, { env: { SAMV_BUS__PREFIX: 'a.b' } }));
    expect(e.issues[0]).toMatchObject({ path: 'bus.prefix', value: 'a.b', source: 'env SAMV_BUS__PREFIX' });
  });

  it('supports another prefix and arbitrary schemas', () => {
    const schema = z.object({ server: z.object({ ackWaitMs: z.number().default(5) }).prefault({}) });
    expect(
      loadConfig(schema, { env: { APP_SERVER__ACK_WAIT_MS: '250' }, prefix: 'APP_' }).server.ackWaitMs,
    ).toBe(250);
  });
});

describe('errors name the key path, the value, the reason and the source', () => {
  it('one bad env value', () => {
    const e = configError(() =>
      loadConfig(SamVeteranConfigSchema, { env: { SAMV_LEARNER__BATCH_STATES: '-3' } }),
    );
    expect(e.message).toBe(
      'invalid configuration: learner.batchStates: -3 must be >= 1 (from env SAMV_LEARNER__BATCH_STATES)',
    );
    expect(e.issues).toEqual([
      {
        path: 'learner.batchStates',
        value: -3,
        problem: 'must be >= 1',
        source: 'env SAMV_LEARNER__BATCH_STATES',
      },
    ]);
  });

  it('lists every problem at once, from every layer', () => {
    const file = writeJson('bad.json', {
      learner: { clipEps: 0, advantageMode: 'ppo' },
      samEnv: { port: 70000 },
    });
    const e = configError(() =>
      loadConfig(SamVeteranConfigSchema, {
        file,
        env: { SAMV_ACTOR__GROUP_SIZE: '2.5' },
        overrides: { rewards: { goodEnoughIou: 'high' } },
      }),
    );
    const lines = e.issues.map((i) => `${i.path}|${i.problem}|${i.source}`).sort();
    expect(lines).toEqual([
      'actor.groupSize|must be an integer|env SAMV_ACTOR__GROUP_SIZE',
      `learner.advantageMode|must be one of "reinforce++", "group"|file ${file}`,
      `learner.clipEps|must be > 0|file ${file}`,
      'rewards.goodEnoughIou|must be a number|override',
      `samEnv.port|must be <= 65535|file ${file}`,
    ]);
    expect(e.message).toMatch(/^invalid configuration \(5 problems\):\n {2}/);
    expect(e.message).toContain('learner.advantageMode: "ppo" must be one of "reinforce++", "group"');
  });

  it('rejects misspelt keys in files and env', () => {
    const file = writeJson('typo.json', { learner: { batchState: 3 } });
    let e = configError(() => loadConfig(SamVeteranConfigSchema, { file, env: {} }));
    expect(e.issues).toEqual([
      { path: 'learner.batchState', value: 3, problem: 'is not a known key', source: `file ${file}` },
    ]);
    e = configError(() => loadConfig(SamVeteranConfigSchema, { env: { SAMV_LEARNER__BATCH_STATE: '3' } }));
    expect(e.message).toBe(
      'invalid configuration: learner.batchState: "3" is not a known key (from env SAMV_LEARNER__BATCH_STATE)',
    );
    expect(
      loadConfig(SamVeteranConfigSchema, { env: { SAMV_LEARNER__BATCH_STATE: '3' }, unknownEnv: 'ignore' })
        .learner.batchStates,
    ).toBe(16);
  });

  it('reports an unreadable or invalid file', () => {
    const missing = join(dir, 'nope.json');
    let e = configError(() => loadConfig(SamVeteranConfigSchema, { file: missing, env: {} }));
    expect(e.message).toMatch(/config file could not be read: ENOENT/);
    e = configError(() =>
      loadConfig(SamVeteranConfigSchema, { file: writeJson('broken.json', '{"learner": '), env: {} }),
    );
    expect(e.message).toMatch(/broken\.json" is not valid JSON/);
    e = configError(() =>
      loadConfig(SamVeteranConfigSchema, { file: writeJson('array.json', [1]), env: {} }),
    );
    expect(e.message).toContain('[1] must be a JSON object');
  });

  it('reports refinements and missing values', () => {
    let e = configError(() =>
      loadConfig(SamVeteranConfigSchema, { env: { SAMV_REWARDS__DELTA_THRESHOLDS: '[0.5, 0.1]' } }),
    );
    expect(e.message).toContain('rewards.deltaThresholds: [0.5, 0.1] must be strictly ascending');
    e = configError(() =>
      loadConfig(SamVeteranConfigSchema, {
        env: {},
        overrides: { actor: { taskMix: { localization: 0, maskUnderstanding: 0, auxiliary: 0 } } },
      }),
    );
    expect(e.issues[0]?.path).toBe('actor.taskMix');
    expect(e.issues[0]?.problem).toBe('must have a positive total weight');
    const schema = z.object({ a: z.object({ name: z.string() }) });
    e = configError(() => loadConfig(schema, { env: {} }));
    expect(e.message).toBe('invalid configuration: a: (missing) is required');
  });
});
