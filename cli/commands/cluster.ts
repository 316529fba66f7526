/**
 * `sam-veteran cluster up | scale | status`: the distributed topology on one machine — nats-server
 * (JetStream, own store), sam-env replicas, actors and the learner as separate OS processes on
 * loopback (deploy/local). `up` runs the training job until the learner finishes (or Ctrl-C), writes
 * the report and stops everything. While it runs, a control endpoint on loopback (its address is
 * in `<run>/control.json`) lets `cluster scale actors N` grow or shrink the actor pool.
 * `up --resume <run>` starts the same cluster again on the run's NATS store (queued tasks and
 * unapplied groups are still there) and the learner resumes from its newest checkpoint.
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
  formatCpuList,
  parseCpuList,
  toProcessSpec,
} from '../../deploy/local/index.ts';
import { DEFAULT_WARM_START } from '../train/paths.ts';
import { intOption } from '../options.ts';

const LATEST = 'latest-cluster';
const CLUSTER_FILE = 'cluster.json';

/** The options of a `cluster up` run, kept in its folder for `--resume`. */
interface ClusterJob {
  readonly format: 'sam-veteran-cluster-job';
  readonly version: 1;
  readonly actors: number;
  readonly envReplicas: number;
  readonly steps: number;
  /** Absolute path of the warm start (the learner's KL reference). */
  readonly init: string;
  readonly model: string;
  readonly imageStore: boolean;
  /** CPUs the sam-env replicas are pinned to (`--env-cpus`), if any. */
  readonly envCpus?: readonly number[];
  /** CPUs of nats-server, the learner and the actors (`--service-cpus`), if any. */
  readonly serviceCpus?: readonly number[];
}

/**
 * The job of a fresh `up` from its flags, or of `up --resume` from the run's cluster.json with the
 * flags given on the command line on top (the pool sizes, the env model, more steps); the warm start
 * cannot change under a run.
 */
async function clusterJob(
  o: Record<string, unknown>,
  cmd: Command,
): Promise<{ run: RunFolder; job: ClusterJob; resumed: boolean; unlock: () => void }> {
  const given = (k: string): boolean => cmd.getOptionValueSource(k) === 'cli';
  if (o['resume'] === undefined) {
    const job: ClusterJob = {
      format: 'sam-veteran-cluster-job',
      version: 1,
      actors: o['actors'] as number,
      envReplicas: o['envReplicas'] as number,
      steps: o['steps'] as number,
      init: resolve(o['init'] as string),
      model: o['model'] as string,
      imageStore: o['imageStore'] === true,
      ...cpuFlags(o),
    };
    const run = RunFolder.create(o['runs'] as string, 'cluster');
    const unlock = run.lock();
    run.writeJson(CLUSTER_FILE, job);
    return { run, job, resumed: false, unlock };
  }
  const run = RunFolder.open(o['resume'] as string);
  if (!run.has(CLUSTER_FILE)) {
    throw new ValidationError(
      '--resume',
      o['resume'],
      `is not a \`cluster up\` run folder (no ${CLUSTER_FILE})`,
    );
  }
  // Held until the cluster has stopped. Not released when Ctrl-C exits the process from the
  // supervisor's signal handler: a later --resume finds that process gone and takes the folder over.
  const unlock = run.lock();
  const saved = run.readJson<ClusterJob>(CLUSTER_FILE);
  if (given('init') && resolve(o['init'] as string) !== saved.init) {
    unlock();
    throw new ValidationError(
      '--init',
      o['init'],
      `cannot change when resuming: run ${run.id} trains against the warm start ${saved.init}`,
    );
  }
  const job: ClusterJob = {
    ...saved,
    ...(given('actors') ? { actors: o['actors'] as number } : {}),
    ...(given('envReplicas') ? { envReplicas: o['envReplicas'] as number } : {}),
    ...(given('steps') ? { steps: o['steps'] as number } : {}),
    ...(given('model') ? { model: o['model'] as string } : {}),
    ...(given('imageStore') ? { imageStore: o['imageStore'] === true } : {}),
    ...cpuFlags(o),
  };
  run.writeJson(CLUSTER_FILE, job);
  return { run, job, resumed: true, unlock };
}

/** The CPU pinning flags that were given. */
function cpuFlags(o: Record<string, unknown>): Pick<ClusterJob, 'envCpus' | 'serviceCpus'> {
  return {
    ...(o['envCpus'] !== undefined ? { envCpus: o['envCpus'] as number[] } : {}),
    ...(o['serviceCpus'] !== undefined ? { serviceCpus: o['serviceCpus'] as number[] } : {}),
  };
}

interface ControlInfo {
  readonly url: string;
  readonly runDir: string;
  readonly pid: number;
}

export function registerClusterCommand(program: Command): void {
  const cluster = program.command('cluster').description('run the distributed topology as local processes');

  cluster
    .command('up')
    .description('start nats-server, sam-env replicas, actors and the learner; train; report; stop')
    .option('--actors <n>', 'actor processes', intOption('--actors'), 2)
    .option('--env-replicas <n>', 'sam-env replicas', intOption('--env-replicas'), 2)
    .option('--steps <n>', 'GRPO steps', intOption('--steps'), 40)
    .option('--init <path>', 'warm-start policy checkpoint', DEFAULT_WARM_START)
    .option('--runs <dir>', 'where run folders go', 'runs')
    .option('--model <name>', 'env model of the sam-env replicas', 'grabcut')
    .option(
      '--image-store',
      'actors put images in the NATS Object Store bucket "images" and send replicas keys, not pixels ' +
        '(saves bandwidth across machines; costs CPU on one)',
    )
    .option(
      '--env-cpus <list>',
      'pin the sam-env replicas to these CPUs (taskset syntax: 0, 0-3, 0,2), giving the env its own cores',
      (v: string) => parseCpuList('--env-cpus', v),
    )
    .option(
      '--service-cpus <list>',
      'pin nats-server, the learner and the actors to these CPUs (use with --env-cpus)',
      (v: string) => parseCpuList('--service-cpus', v),
    )
    .option(
      '--resume <run-dir>',
      'start a stopped or killed cluster run again: its NATS store keeps the queued tasks and groups, ' +
        'the learner resumes from its checkpoint (flags given with it override the saved ones, except --init)',
    )
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const runsRoot = o['runs'] as string;
      const { run, job, resumed, unlock } = await clusterJob(o, cmd);
      const ports = await allocateLocalPorts({ samEnv: job.envReplicas, actors: job.actors });
      const topology = buildLocalTopology({
        runDir: run.dir,
        ports,
        model: job.model,
        env: { LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info' },
        imageStore: job.imageStore,
        cpus: {
          ...(job.envCpus ? { samEnv: job.envCpus } : {}),
          ...(job.serviceCpus ? { services: job.serviceCpus } : {}),
        },
      });
      for (const e of topology.entries) {
        if (e.name === 'learner') e.args.push('--steps', String(job.steps), '--init', job.init);
      }
      const supervisor = new ProcessSupervisor({ runDir: run.dir });
      supervisor.defineGroup('actor', async (i) =>
        toProcessSpec(actorEntry(topology, i, await getFreePort())),
      );
      const hint = (): void =>
        console.error(
          `\nstopping the cluster (the learner checkpoints first); resume with: ` +
            `npx sam-veteran cluster up --resume ${run.dir}`,
        );
      process.once('SIGINT', hint);
      process.once('SIGTERM', hint);
      const offSignals = supervisor.handleSignals({ exit: true });

      const control = await startControl(supervisor);
      const info: ControlInfo = { url: control.url, runDir: run.dir, pid: process.pid };
      await writeFile(run.path('control.json'), JSON.stringify(info, null, 2));
      await writeFile(join(runsRoot, LATEST), run.dir);

      console.log(`run folder:  ${run.dir}${resumed ? ' (resumed)' : ''}`);
      console.log(`logs:        ${run.dir}/logs (one file per process)`);
      console.log(`nats:        ${topology.natsUrl}   sam-env: ${topology.samEnvTargets.join(', ')}`);
      if (topology.imageStoreUrl) console.log(`images:      ${topology.imageStoreUrl} (actors send keys)`);
      if (job.envCpus || job.serviceCpus) {
        const show = (c: readonly number[] | undefined): string => (c ? formatCpuList(c) : 'any');
        console.log(`cpus:        sam-env ${show(job.envCpus)}, services ${show(job.serviceCpus)}`);
      }
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
        process.off('SIGINT', hint);
        process.off('SIGTERM', hint);
        await new Promise<void>((r) => control.server.close(() => r()));
        await supervisor.stopAll();
        unlock();
      }
    });

  cluster
    .command('scale')
    .description('set the number of processes of a group in the running cluster')
    .argument('<group>', 'process group (actors)')
    .argument('<n>', 'target count', intOption('n'))
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
