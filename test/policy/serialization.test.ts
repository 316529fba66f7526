import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CheckpointError,
  PointerPolicy,
  decodePolicyFile,
  encodePolicyFile,
  initTf,
  loadPolicy,
  loadPolicyFile,
  policyToBytes,
  savePolicyFile,
  serializePolicy,
  sha256Hex,
} from '../../core/policy/index.ts';
import { TINY, makeFixture } from './fixtures.ts';

let policy: PointerPolicy;
let dir: string;

beforeAll(async () => {
  await initTf('wasm');
  policy = await PointerPolicy.create(TINY, { seed: 21 });
  // Move the weights off their initial values so the round trip is not trivially all-seeded.
  const obs = [makeFixture(1).observation, makeFixture(2).observation];
  const targets = [makeFixture(1), makeFixture(2)].map((f) =>
    policy.codec.encodeAction({ kind: 'box', box: f.box }, f.observation),
  );
  for (let i = 0; i < 2; i++) policy.trainStep(() => policy.supervisedLoss(obs, targets));
  dir = await mkdtemp(join(tmpdir(), 'policy-ckpt-'));
});

afterAll(async () => {
  policy.dispose();
  await rm(dir, { recursive: true, force: true });
});

function bits(p: PointerPolicy): Uint8Array[] {
  return p.getWeights().map((w) => new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength));
}

describe('policy checkpoints', () => {
  it('serializes to a manifest with shapes, offsets and the blob sha256', () => {
    const { manifest, blob } = serializePolicy(policy, { step: 2 });
    expect(manifest.format).toBe('sam-veteran-policy');
    expect(manifest.architecture).toBe('pointer-v1');
    expect(manifest.config.dModel).toBe(TINY.dModel);
    expect(manifest.sha256).toBe(sha256Hex(blob));
    expect(manifest.metadata).toEqual({ step: 2 });
    const last = manifest.tensors[manifest.tensors.length - 1];
    expect((last?.offset ?? 0) + (last?.length ?? 0)).toBe(blob.length);
    expect(blob.length).toBe(policy.parameterCount * 4);
  });

  it('loads back bit-identically, with identical behaviour and identical bytes', async () => {
    const bytes = policyToBytes(policy);
    const loaded = await loadPolicy(bytes);
    expect(bits(loaded)).toEqual(bits(policy));
    expect(loaded.config).toEqual(policy.config);
    expect(policyToBytes(loaded)).toEqual(bytes);
    const obs = [makeFixture(5).observation];
    expect(loaded.greedy(obs, 'box')).toEqual(policy.greedy(obs, 'box'));
    loaded.dispose();
  });

  it('rejects a blob whose sha256 does not match, naming both digests', async () => {
    const bytes = policyToBytes(policy).slice();
    const { manifest } = decodePolicyFile(bytes);
    bytes[bytes.length - 3] = (bytes[bytes.length - 3] as number) ^ 0xff;
    await expect(loadPolicy(bytes)).rejects.toThrow(CheckpointError);
    await expect(loadPolicy(bytes)).rejects.toThrow(
      new RegExp(
        `checkpoint is corrupt: blob sha256 [0-9a-f]{64} does not match the manifest's ${manifest.sha256}`,
      ),
    );
  });

  it('rejects files that are not checkpoints or whose tensors do not fit the architecture', async () => {
    await expect(loadPolicy(new TextEncoder().encode('hello world'))).rejects.toThrow(
      'checkpoint is not a policy checkpoint (expected magic "SVP1")',
    );
    const s = serializePolicy(policy);
    const renamed = encodePolicyFile({
      manifest: {
        ...s.manifest,
        tensors: s.manifest.tensors.map((t, i) => (i === 0 ? { ...t, name: 'bogus' } : t)),
      },
      blob: s.blob,
    });
    await expect(loadPolicy(renamed)).rejects.toThrow(
      /does not match its architecture: weights\[0\]\.name "bogus" must be "patch\.w"/,
    );
  });

  it('saves to and loads from a file path', async () => {
    const path = join(dir, 'policy.svp');
    const manifest = await savePolicyFile(policy, path, { note: 'test' });
    const loaded = await loadPolicyFile(path, { frozen: true });
    expect(loaded.frozen).toBe(true);
    expect(bits(loaded)).toEqual(bits(policy));
    expect(decodePolicyFile(await readFile(path)).manifest).toEqual(manifest);
    loaded.dispose();
    await writeFile(path, new Uint8Array(3));
    await expect(loadPolicyFile(path)).rejects.toThrow(
      `policy checkpoint "${path}" is not a policy checkpoint`,
    );
    await expect(loadPolicyFile(join(dir, 'missing.svp'))).rejects.toThrow('cannot be read');
  });
});
