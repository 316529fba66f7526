/**
 * sam-env benchmark (`npm run bench:env`), one run, three sections:
 *
 *  1. GrabCut transitions/s in-process (TransitionService, no network) vs over gRPC on loopback
 *     (SamEnvServer + SamEnvClient in this process), same prompts, cached embedding. Target: gRPC ≥ 90%.
 *     Each single-prompt figure twice: over the client's default TransitionStream, and as one unary
 *     call each (`transport: 'unary'`), whose per-call HTTP/2 stream, headers and trailers cost
 *     ~1 ms a call after the model's 7–15 ms.
 *  2. Per-call gRPC overhead: Info calls, and Transition with a trivial model (box-filled mask), each
 *     p50/p99 over sequential calls, with the in-process trivial transition as the baseline; and the
 *     floor under them, a plain TCP round trip to another process, back to back and after a wait.
 *  3. Fixture SAM decoder (sam2-onnx fixture ONNX pair, onnxruntime-node CPU): a group of 8 prompts
 *     decoded in one batched run vs one run per prompt.
 *
 * Every figure is the median of several rounds. Limits: one machine, client and server share the same
 * CPUs (2 cores here, other work running), so absolute numbers are noisy; the ratios are the point.
 */
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { Worker } from 'node:worker_threads';
import { BinaryMask } from '../core/mask/index.ts';
import type { EnvPrompt } from '../core/wire/index.ts';
import { encodedImage, SamEnvClient } from '../services/sam-env/src/client.ts';
import type {
  EnvImage,
  EnvModel,
  ModelInfo,
  TransitionOutput,
  TransitionPrompt,
} from '../services/sam-env/src/model.ts';
import { createGrabCutModel } from '../services/sam-env/src/models/grabcut.ts';
import type * as Sam2OnnxModule from '../services/sam-env/src/models/sam2-onnx/index.ts';
import { SamEnvServer } from '../services/sam-env/src/server.ts';
import { TransitionService } from '../services/sam-env/src/transition-service.ts';
import { makeScene, RED } from '../test/sam-env/scene.ts';

type Sam2OnnxPlugin = typeof Sam2OnnxModule;

const ROUNDS = 9;
const PER_ROUND = 16;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

/** n slightly different boxes around the disc of `scene(side)`, in pixels of a side×side image. */
function prompts(n: number, side = 128): EnvPrompt[] {
  const k = side / 128;
  return Array.from({ length: n }, (_, i) => ({
    box: [(18 + (i % 5)) * k, (20 + (i % 3)) * k, (82 - (i % 4)) * k, 84 * k],
    points: [],
  }));
}

const scene = (side: number) =>
  makeScene(
    side,
    side,
    [{ cx: (50 * side) / 128, cy: (52 * side) / 128, r: (28 * side) / 128, color: RED }],
    11,
  );

/**
 * Transitions per second of several paths, median over rounds of PER_ROUND calls (the first path
 * sequential, each other with its `inFlight` calls outstanding, default 1). The paths take turns
 * within each round, so that load from other processes hits them alike.
 */
async function rates(
  paths: readonly (readonly [(p: EnvPrompt) => Promise<unknown>, number?])[],
  side: number,
): Promise<number[]> {
  const ps = prompts(PER_ROUND, side);
  for (const [run] of paths) await run(ps[0]!); // warm: embedding cached, JIT
  const out = paths.map(() => [] as number[]);
  for (let r = 0; r < ROUNDS; r++) {
    for (const [i, [run, inFlight]] of paths.entries()) {
      const t0 = performance.now();
      let next = 0;
      const lane = async (): Promise<void> => {
        while (next < ps.length) await run(ps[next++]!);
      };
      await Promise.all(Array.from({ length: i === 0 ? 1 : (inFlight ?? 1) }, lane));
      out[i]!.push((PER_ROUND * 1000) / (performance.now() - t0));
    }
  }
  return out.map(median);
}

/**
 * A model that does no work: the mask is the box. Isolates the per-call cost of the service.
 * With `spinMs` > 0 it holds the event loop that long per decode, as GrabCut does, without touching
 * memory: the gRPC cost measured then is what a real model's calls pay.
 */
class TrivialModel implements EnvModel {
  constructor(private readonly spinMs = 0) {}
  readonly info: ModelInfo = {
    id: 'trivial',
    family: 'trivial',
    inputSize: 1,
    supportsMaskInput: false,
    lowResSize: 0,
    maxPoints: 16,
    maxBatch: 16,
  };
  async init(): Promise<void> {}
  async embed(): Promise<{ byteSize: number }> {
    return { byteSize: 1 };
  }
  async decode(_e: unknown, image: EnvImage, ps: readonly TransitionPrompt[]): Promise<TransitionOutput[]> {
    const t0 = performance.now();
    while (performance.now() - t0 < this.spinMs);
    return ps.map((p) => {
      const m = new BinaryMask(image.width, image.height);
      for (let y = Math.floor(p.box[1]); y < Math.ceil(p.box[3]); y++) {
        m.data.fill(1, y * image.width + Math.floor(p.box[0]), y * image.width + Math.ceil(p.box[2]));
      }
      return { mask: m, predictedIou: 1, stability: 1 };
    });
  }
  async close(): Promise<void> {}
}

/**
 * The same with the 7 ms spent in a worker thread: the server's event loop sleeps while the model
 * runs, as it would with GrabCut moved off the main thread (or onnxruntime's own threads). Shows
 * whether the per-call cost after a busy stretch is the event loop's work or waking a sleeping thread.
 */
class WorkerSpinModel extends TrivialModel {
  private readonly worker = new Worker(
    `const { parentPort } = require('node:worker_threads');
     parentPort.on('message', (ms) => { const t0 = performance.now(); while (performance.now() - t0 < ms); parentPort.postMessage(0); });`,
    { eval: true },
  );
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly workerMs: number) {
    super(0);
    this.worker.on('message', () => this.waiting.shift()?.());
  }

  override async decode(
    e: unknown,
    image: EnvImage,
    ps: readonly TransitionPrompt[],
  ): Promise<TransitionOutput[]> {
    await new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.worker.postMessage(this.workerMs);
    });
    return super.decode(e, image, ps);
  }

  override async close(): Promise<void> {
    await this.worker.terminate();
  }
}

async function latencies(n: number, call: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i++) await call();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    out.push(performance.now() - t0);
  }
  return out;
}

/** Starts `sam-veteran env serve` as a child process and reads its address from stdout. */
async function spawnServer(): Promise<{ address: string; stop: () => void }> {
  const proc = spawn(
    process.execPath,
    ['bin/sam-veteran.js', 'env', 'serve', '--host', '127.0.0.1', '--port', '0'],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, LOG_LEVEL: 'warn' },
    },
  );
  const address = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n')[0];
      if (buf.includes('\n') && line) resolve((JSON.parse(line) as { listening: string }).listening);
    });
    proc.once('exit', (code) => reject(new Error(`env serve exited with ${code}`)));
  });
  return { address, stop: () => proc.kill('SIGTERM') };
}

/**
 * p50 of a 64-byte TCP round trip to an echo child process that answers after holding its thread
 * `holdMs` (0: at once), minus the hold: the transport cost of a call under a model of that length.
 */
async function tcpRoundTrips(holdMs: number, n = 200): Promise<number> {
  const echo = spawn(
    process.execPath,
    [
      '-e',
      `const net = require('node:net');
       const srv = net.createServer((s) => { s.setNoDelay(true); s.on('data', (d) => {
         const t0 = performance.now(); while (performance.now() - t0 < ${holdMs}); s.write(d); }); });
       srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));`,
    ],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  );
  try {
    const port = await new Promise<number>((resolve, reject) => {
      echo.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
      echo.once('exit', (code) => reject(new Error(`TCP echo exited with ${code}`)));
    });
    const sock = createConnection(port, '127.0.0.1');
    sock.setNoDelay(true);
    await new Promise((r) => sock.once('connect', r));
    const ping = Buffer.alloc(64);
    const out: number[] = [];
    for (let i = 0; i < n + 20; i++) {
      const t0 = performance.now();
      sock.write(ping);
      await new Promise((r) => sock.once('data', r));
      if (i >= 20) out.push(performance.now() - t0 - holdMs);
    }
    sock.destroy();
    return quantile(out, 0.5);
  } finally {
    echo.kill();
  }
}

const ms = (x: number) => `${x.toFixed(3)} ms`;

async function main(): Promise<void> {
  console.log(`sam-env bench — ${ROUNDS} rounds x ${PER_ROUND} sequential calls per figure, medians`);

  // 1. GrabCut in-process vs gRPC, on two image sizes (the per-call gRPC cost is fixed, the model's
  // per-call cost grows with the image through upsampling and RLE).
  const local = new TransitionService({ model: createGrabCutModel() });
  await local.model.init();
  const server = await SamEnvServer.start({ model: createGrabCutModel(), host: '127.0.0.1', port: 0 });
  const client = new SamEnvClient({ addresses: [server.address], firstContact: 'send' });
  // The same calls as one unary RPC each (the client's `transport: 'unary'`): what TransitionStream saves.
  const unaryClient = new SamEnvClient({
    addresses: [server.address],
    firstContact: 'send',
    transport: 'unary',
  });
  const child = await spawnServer();
  const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(1)}%`;
  const row = (label: string, a: number, b: number) =>
    console.log(
      `   ${label.padEnd(50)} ${a.toFixed(1).padStart(8)} /s ${b.toFixed(1).padStart(8)} /s   ${pct(b, a)}`,
    );
  console.log(
    '\n1. GrabCut transitions/s (working size 128, 3 iterations), target: gRPC ≥ 90% of in-process',
  );
  console.log(`   ${''.padEnd(50)} ${'in-process'.padStart(10)} ${'gRPC'.padStart(10)}   ratio`);
  let payload = encodedImage(new Uint8Array(0));
  let ref = { digest: '', source: payload.source! };
  for (const side of [128, 320]) {
    const sc = await scene(side);
    payload = encodedImage(sc.png);
    ref = { digest: payload.digest, source: payload.source! };
    const one = (p: EnvPrompt) =>
      local.run({ model: '', image: ref, prompts: [p], returnLogits: true, promptField: 'prompt' });
    const [inProc = 0, overStream = 0, overUnary = 0] = await rates(
      [[one], [(p) => client.transition(payload, p)], [(p) => unaryClient.transition(payload, p)]],
      side,
    );
    row(`${side}x${side}, Transition (1 prompt)`, inProc, overStream);
    row(`${side}x${side}, Transition (1 prompt), unary calls`, inProc, overUnary);
    // The actors' call pattern: a GRPO group of 8 prompts on one image per call.
    const group = prompts(8, side);
    const [inProcG = 0, overGrpcG = 0] = await rates(
      [
        [
          async () =>
            local.run({ model: '', image: ref, prompts: group, returnLogits: true, promptField: 'prompts' }),
        ],
        [async () => client.transitionGroup(payload, group)],
      ],
      side,
    );
    row(`${side}x${side}, TransitionGroup of 8`, inProcG * 8, overGrpcG * 8);
    // As deployed: the server in its own process (`sam-veteran env serve`), so client-side gRPC work
    // does not run on the server's event loop; sequential, then two calls outstanding (what an
    // actor's concurrency gives a replica: the server decodes the next request while the client
    // handles the last answer).
    const remote = new SamEnvClient({ addresses: [child.address], firstContact: 'send' });
    const remoteUnary = new SamEnvClient({
      addresses: [child.address],
      firstContact: 'send',
      transport: 'unary',
    });
    const [inProcR = 0, overR = 0, overRU = 0, overR2 = 0] = await rates(
      [
        [one],
        [(p) => remote.transition(payload, p)],
        [(p) => remoteUnary.transition(payload, p)],
        [(p) => remote.transition(payload, p), 2],
      ],
      side,
    );
    row(`${side}x${side}, Transition, server process`, inProcR, overR);
    row(`${side}x${side}, Transition, server process, unary calls`, inProcR, overRU);
    row(`${side}x${side}, Transition, server process, 2 in flight`, inProcR, overR2);
    remoteUnary.close();
    remote.close();
  }
  child.stop();

  // 2. Per-call overhead.
  const info = await latencies(500, () => client.info());
  const trivialServer = await SamEnvServer.start({ model: new TrivialModel(), host: '127.0.0.1', port: 0 });
  const trivialClient = new SamEnvClient({ addresses: [trivialServer.address], firstContact: 'send' });
  const box: EnvPrompt = { box: [20, 20, 80, 80], points: [] };
  const trivialGrpc = await latencies(500, () => trivialClient.transition(payload, box));
  const trivialUnaryClient = new SamEnvClient({
    addresses: [trivialServer.address],
    firstContact: 'send',
    transport: 'unary',
  });
  const trivialUnary = await latencies(500, () => trivialUnaryClient.transition(payload, box));
  trivialUnaryClient.close();
  const trivialLocal = new TransitionService({ model: new TrivialModel() });
  const trivialInProc = await latencies(500, () =>
    trivialLocal.run({ model: '', image: ref, prompts: [box], returnLogits: false, promptField: 'prompt' }),
  );
  console.log('\n2. Per-call gRPC overhead (sequential calls, loopback)');
  console.log(
    `   Info                         : p50 ${ms(quantile(info, 0.5))}  p99 ${ms(quantile(info, 0.99))}`,
  );
  console.log(
    `   Transition, trivial model    : p50 ${ms(quantile(trivialGrpc, 0.5))}  p99 ${ms(quantile(trivialGrpc, 0.99))}`,
  );
  console.log(
    `   same, unary calls            : p50 ${ms(quantile(trivialUnary, 0.5))}  p99 ${ms(quantile(trivialUnary, 0.99))}`,
  );
  console.log(
    `   same, in-process (baseline)  : p50 ${ms(quantile(trivialInProc, 0.5))}  p99 ${ms(quantile(trivialInProc, 0.99))}`,
  );
  console.log(
    `   => gRPC overhead per call    : p50 ${ms(quantile(trivialGrpc, 0.5) - quantile(trivialInProc, 0.5))}` +
      ` (stream), ${ms(quantile(trivialUnary, 0.5) - quantile(trivialInProc, 0.5))} (unary calls)`,
  );
  trivialClient.close();
  await trivialServer.shutdown();
  // The same with the model holding the event loop 7 ms a call (GrabCut's time at 128²): the two
  // gRPC legs of a call run after a busy stretch and cost more than back to back.
  const spinServer = await SamEnvServer.start({ model: new TrivialModel(7), host: '127.0.0.1', port: 0 });
  const spinClient = new SamEnvClient({ addresses: [spinServer.address], firstContact: 'send' });
  const spinLocal = new TransitionService({ model: new TrivialModel(7) });
  const spinGrpc = await latencies(150, () => spinClient.transition(payload, box));
  const spinInProc = await latencies(150, () =>
    spinLocal.run({ model: '', image: ref, prompts: [box], returnLogits: false, promptField: 'prompt' }),
  );
  console.log(
    `   model busy 7 ms, gRPC        : p50 ${ms(quantile(spinGrpc, 0.5))}, in-process ${ms(quantile(spinInProc, 0.5))}` +
      ` => overhead ${ms(quantile(spinGrpc, 0.5) - quantile(spinInProc, 0.5))}`,
  );
  spinClient.close();
  await spinServer.shutdown();
  const waitModel = new WorkerSpinModel(7);
  const waitServer = await SamEnvServer.start({ model: waitModel, host: '127.0.0.1', port: 0 });
  const waitClient = new SamEnvClient({ addresses: [waitServer.address], firstContact: 'send' });
  const waitLocalModel = new WorkerSpinModel(7);
  const waitLocal = new TransitionService({ model: waitLocalModel });
  const waitGrpc = await latencies(150, () => waitClient.transition(payload, box));
  const waitInProc = await latencies(150, () =>
    waitLocal.run({ model: '', image: ref, prompts: [box], returnLogits: false, promptField: 'prompt' }),
  );
  console.log(
    `   model 7 ms in a worker, gRPC : p50 ${ms(quantile(waitGrpc, 0.5))}, in-process ${ms(quantile(waitInProc, 0.5))}` +
      ` => overhead ${ms(quantile(waitGrpc, 0.5) - quantile(waitInProc, 0.5))} (event loop asleep during the model)`,
  );
  waitClient.close();
  await waitServer.shutdown();
  await waitLocalModel.close();
  // The floor under any RPC layer: a 64-byte TCP ping-pong with an echo process (no gRPC, no HTTP/2).
  const [tcpNow, tcpAfter] = [await tcpRoundTrips(0), await tcpRoundTrips(7)];
  console.log(
    `   TCP echo, another process    : round trip p50 ${ms(tcpNow)} back to back, ${ms(tcpAfter)} beyond a 7 ms wait` +
      ' (the machine waking a sleeping process; no RPC layer can go below it)',
  );
  client.close();
  unaryClient.close();
  await server.shutdown();

  // 3. Fixture SAM decoder: batched vs one-by-one.
  console.log('\n3. Fixture SAM decoder (onnxruntime-node CPU), group of 8 prompts');
  await samFixtureSection(await scene(128));
}

async function samFixtureSection(scene: { width: number; height: number; rgb: Uint8Array }): Promise<void> {
  let plugin: Sam2OnnxPlugin;
  try {
    plugin = await import('../services/sam-env/src/models/sam2-onnx/index.ts');
  } catch (err) {
    console.log(`   skipped: the sam2-onnx plugin could not be loaded (${(err as Error).message})`);
    return;
  }
  const image: EnvImage = { digest: 'bench', width: scene.width, height: scene.height, rgb: scene.rgb };
  const group: TransitionPrompt[] = Array.from({ length: 8 }, (_, i) => ({
    box: [10 + i, 12, 90 - i, 100],
    points: [{ point: [50, 52], label: 1 }],
  }));
  for (const family of plugin.SAM_ONNX_FAMILIES) {
    const { encoder, decoder } = plugin.buildFixtureModels(family);
    const model = plugin.createSam2OnnxModel({ encoderBytes: encoder, decoderBytes: decoder, maxBatch: 8 });
    await model.init();
    const emb = await model.embed(image);
    const batched: number[] = [];
    const single: number[] = [];
    await model.decode(emb, image, group);
    for (let r = 0; r < ROUNDS; r++) {
      let t0 = performance.now();
      await model.decode(emb, image, group);
      batched.push((group.length * 1000) / (performance.now() - t0));
      t0 = performance.now();
      for (const p of group) await model.decode(emb, image, [p]);
      single.push((group.length * 1000) / (performance.now() - t0));
    }
    const b = median(batched);
    const s = median(single);
    const maxBatch = model.info.maxBatch;
    console.log(
      `   ${family.padEnd(17)}: batched ${b.toFixed(1)} prompts/s, one-by-one ${s.toFixed(1)} prompts/s, ` +
        `ratio ${(b / s).toFixed(2)}x (model maxBatch ${maxBatch})`,
    );
    await model.close();
  }
}

await main();
