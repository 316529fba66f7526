import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { encodedImage, SamEnvClient } from '../../services/sam-env/src/client.ts';
import { makeScene, RED } from './scene.ts';

describe('sam-veteran env serve (a real process)', () => {
  it('serves, then drains on SIGTERM: the in-flight group call completes and the process exits 0', async () => {
    const proc = spawn(
      process.execPath,
      ['bin/sam-veteran.js', 'env', 'serve', '--host', '127.0.0.1', '--port', '0', '--metrics-port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, LOG_LEVEL: 'info' },
      },
    );
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const { listening: address, metricsPort } = await new Promise<{ listening: string; metricsPort: number }>(
      (resolve, reject) => {
        let out = '';
        proc.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n'))
            resolve(JSON.parse(out.split('\n')[0]!) as { listening: string; metricsPort: number });
        });
        void exited.then((code) => reject(new Error(`env serve exited with ${code}: ${stderr}`)));
      },
    );
    const scene = await makeScene(96, 96, [{ cx: 48, cy: 48, r: 22, color: RED }], 5);
    const client = new SamEnvClient({ addresses: [address], firstContact: 'send', maxAttempts: 1 });
    expect((await client.info()).modelId).toBe('grabcut@128');
    const group = Array.from({ length: 8 }, (_, i) => ({ box: [20 + i, 20, 76, 76] as const, points: [] }));
    const inflight = client.transitionGroup(encodedImage(scene.png), group);
    // SIGTERM once the server is working on the call (it has looked the image up).
    for (;;) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      if (/samenv_cache_lookups_total\{cache="image",result="miss"\} 1/.test(text)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    proc.kill('SIGTERM');
    expect((await inflight).results).toHaveLength(8);
    expect(await exited).toBe(0);
    expect(stderr).toContain('"to":"draining"');
    expect(stderr).toContain('"to":"stopped"');
    client.close();
  });
});
