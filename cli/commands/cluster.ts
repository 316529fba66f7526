/**
 * `sam-veteran cluster up | scale | status`: the distributed topology on one machine — nats-server
 * (JetStream, own store), sam-env replicas, actors and the learner as separate OS processes on
 * loopback (deploy/local). `up` runs the training job until the learner finishes (or Ctrl-C), writes
 * the report and stops everything. While it runs, a control endpoint on loopback (its address is
 * in `<run>/control.json`) lets `cluster scale actors N` grow or shrink the actor pool.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ValidationError } from '../../core/errors/index.ts';
import { RunFolder, renderTrainingReport } from '../../core/report/index.ts';
import {
  ProcessSupervisor,
  actorEntry,
  allocateLocalPorts,
  buildLocalTopology,
  getFreePort,
  toProcessSpec,
} from '../../deploy/local/index.ts';
import { DEFAULT_WARM_START } from '../train/paths.ts';

const LATEST = 'latest-cluster';

interface ControlInfo {
  readonly url: string;
  readonly runDir: string;
  readonly pid: number;
}

function int(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new ValidationError(`--${name}`, v, 'must be a non-negative integer');
    return n;
  };
}

export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('run the distributed topology as local processes');

  cluster
    .command('up')
    .description('start nats-server, sam-env replicas, actors and the learner; train; report; stop')
    .option('--actors <n>', 'actor processes', int('actors'), 2)
    .option('--env-replicas <n>', 'sam-env replicas', int('env-replicas'), 2)
    .option('--steps <n>', 'GRPO steps', int('steps'), 40)
    .option('--init <path>', 'warm-start policy checkpoint', DEFAULT_WARM_START)
    .option('--runs <dir>', 'where run folders go', 'runs')
    .option('--model <name>', 'env model of the sam-env replicas', 'grabcut')
    .option(
      '--no-image-store',
      'actors send pixels to each replica instead of keys in the NATS Object Store bucket "images"',
    )
    .action(async (o: Record<string, unknown>) => {
      const runsRoot = o['runs'] as string;
      const run = RunFolder.create(runsRoot, 'cluster');
      const ports = await allocateLocalPorts({
        samEnv: o['envReplicas'] as number,
        actors: o['actors'] as number,
      });
      const topology = buildLocalTopology({
        runDir: run.dir,
        ports,
        model: o['model'] as string,
        env: { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info' },
        imageStore: o['imageStore'] !== false,
      });
      for (const e of topology.entries) {
        if (e.name === 'learner')
          e.args.push('--steps', String(o['steps']), '--init', resolve(o['init'] as string));
      }
      const supervisor = new ProcessSupervisor({ runDir: run.dir });
      supervisor.defineGroup('actor', async (i) =>
        toProcessSpec(actorEntry(topology, i, await getFreePort())),
      );
      const offSignals = supervisor.handleSignals({ exit: true });

      const control = await startControl(supervisor);
      const info: ControlInfo = { url: control.url, runDir: run.dir, pid: process.pid };
      await writeFile(run.path('control.json'), JSON.stringify(info, null, 2));
      await writeFile(join(runsRoot, LATEST), run.dir);

      console.log(`run folder:  ${run.dir}`);
      console.log(`logs:        ${run.dir}/logs (one file per process)`);
      console.log(`nats:        ${topology.natsUrl}   sam-env: ${topology.samEnvTargets.join(', ')}`);
      if (topology.imageStoreUrl) console.log(`images:      ${topology.imageStoreUrl} (actors send keys)`);
      console.log(`scale with:  npx sam-veteran cluster scale actors N`);
      try {
        const learnerDone = new Promise<number | null>((res) => {
          supervisor.on('exit', (s) => {
            if (s.name === 'learner' && (s.exitCode === 0 || s.state === 'failed')) res(s.exitCode);
          });
        });
        await supervisor.startAll(topology.entries.map((e) => toProcessSpec(e)));
        console.log('cluster ready: training…');
        const code = await learnerDone;
        console.log(`learner exited with code ${code}`);
        const metrics = await run.readMetrics();
        await renderTrainingReport({
          runDir: run.dir,
          title: `SAM-Veteran cluster run — ${run.id}`,
          config: { topology: topology.entries.map((e) => ({ name: e.name, args: e.args.join(' ') })) },
          metrics,
        });
        console.log(`report:      ${run.path('report.html')}`);
      } finally {
        offSignals();
        await new Promise<void>((r) => control.server.close(() => r()));
        await supervisor.stopAll();
      }
    });

  cluster
    .command('scale')
    .description('set the number of processes of a group in the running cluster')
    .argument('<group>', 'process group (actors)')
    .argument('<n>', 'target count', int('n'))
    .option('--run <dir>', 'run folder of the cluster (default: the latest `cluster up`)')
    .option('--runs <dir>', 'where run folders go', 'runs')
    .action(async (group: string, n: number, o: Record<string, string | undefined>) => {
      if (group !== 'actors' && group !== 'actor')
        throw new ValidationError('group', group, 'must be "actors"');
      const ctl = await readControl(o['run'], o['runs'] ?? 'runs');
      const res = await fetch(`${ctl.url}/scale?group=actor&n=${n}`, { method: 'POST' });
      const body = (await res.json()) as unknown;
      if (!res.ok) throw new ValidationError('scale', n, `was refused: ${JSON.stringify(body)}`);
      console.log(JSON.stringify(body, null, 2));
    });

  cluster
    .command('status')
    .description('list the processes of the running cluster')
    .option('--run <dir>', 'run folder of the cluster (default: the latest `cluster up`)')
    .option('--runs <dir>', 'where run folders go', 'runs')
    .action(async (o: Record<string, string | undefined>) => {
      const ctl = await readControl(o['run'], o['runs'] ?? 'runs');
      console.log(JSON.stringify(await (await fetch(`${ctl.url}/status`)).json(), null, 2));
    });
}

async function readControl(runDir: string | undefined, runsRoot: string): Promise<ControlInfo> {
  const dir = runDir ?? (await readFile(join(runsRoot, LATEST), 'utf8').catch(() => '')).trim();
  if (!dir)
    throw new ValidationError(
      '--run',
      runDir ?? null,
      'is needed: no running cluster found under ' + runsRoot,
    );
  try {
    return JSON.parse(await readFile(join(dir, 'control.json'), 'utf8')) as ControlInfo;
  } catch (err) {
    throw new ValidationError('--run', dir, 'has no control.json (is `cluster up` running there?)', {
      cause: err,
    });
  }
}

/** Loopback HTTP control endpoint: POST /scale?group=actor&n=N, GET /status. */
async function startControl(supervisor: ProcessSupervisor): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const reply = (code: number, body: unknown): void => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && url.pathname === '/status') return reply(200, supervisor.status());
    if (req.method === 'POST' && url.pathname === '/scale') {
      const n = Number(url.searchParams.get('n'));
      const group = url.searchParams.get('group') ?? 'actor';
      supervisor.scale(group, n).then(
        (members) => reply(200, members),
        (err: unknown) => reply(400, { error: err instanceof Error ? err.message : String(err) }),
      );
      return;
    }
    reply(404, { error: `no route ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('control server has no port');
  return { server, url: `http://127.0.0.1:${addr.port}` };
}
