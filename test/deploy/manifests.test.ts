/**
 * Static checks of deploy/k8s and deploy/docker: every YAML parses, kustomizations point at files
 * that exist, containers run existing CLI subcommands from images that have a Dockerfile, KEDA
 * scales the actor Deployment on the tasks consumer, sam-env sits behind a headless Service, the
 * learner keeps checkpoints on a volumeClaimTemplate, every container requests resources, and the
 * ConfigMap passes the real (strict) configuration schema. When `kubectl` is on PATH, the overlays
 * are also rendered with `kubectl kustomize` and the rendered objects checked the same way.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { SamVeteranConfigSchema, loadConfig } from '../../core/config/index.ts';
import { CLUSTER_NAMES, REPO_ROOT } from '../../deploy/local/index.ts';

const K8S = join(REPO_ROOT, 'deploy', 'k8s');
const DOCKER = join(REPO_ROOT, 'deploy', 'docker');

/** CLI subcommands a container may run (`node bin/sam-veteran.js <subcommand> …`). */
const CLI_SUBCOMMANDS = [['env', 'serve'], ['actor'], ['learner']];
/** Image name → Dockerfile that builds it. */
const IMAGE_DOCKERFILES: Record<string, string> = {
  'sam-veteran/sam-env': 'sam-env.Dockerfile',
  'sam-veteran/sam-env-gpu': 'sam-env-gpu.Dockerfile',
  'sam-veteran/actor': 'actor.Dockerfile',
  'sam-veteran/learner': 'learner.Dockerfile',
};

type Obj = Record<string, unknown> & { kind?: string; metadata?: { name?: string; namespace?: string } };

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return yamlFiles(p);
    return /\.ya?ml$/.test(name) ? [p] : [];
  });
}

function parseFile(path: string): Obj[] {
  return parseYaml(readFileSync(path, 'utf8'), relative(REPO_ROOT, path));
}

function parseYaml(text: string, label: string): Obj[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new Error(`${label}: not YAML documents`);
  return docs.map((d, i) => {
    if (d.errors.length > 0)
      throw new Error(`${label} document ${i}: ${d.errors.map((e) => e.message).join('; ')}`);
    return d.toJS() as Obj;
  });
}

/** Objects of a kustomization's own resource files (recursing into directory resources). */
function kustomizationResources(dir: string): Obj[] {
  const k = parseFile(join(dir, 'kustomization.yaml'))[0] as { resources?: string[] };
  return (k.resources ?? []).flatMap((r) => {
    const p = join(dir, r);
    return statSync(p).isDirectory() ? kustomizationResources(p) : parseFile(p);
  });
}

const get = (o: unknown, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      o,
    );

const find = (objs: Obj[], kind: string, name: string): Obj => {
  const o = objs.find((x) => x.kind === kind && x.metadata?.name === name);
  if (o === undefined) throw new Error(`no ${kind} ${name}`);
  return o;
};

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string | number> };
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}

function workloads(objs: Obj[]): Obj[] {
  return objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
}

function containersOf(o: Obj): Container[] {
  return (get(o, 'spec.template.spec.containers') as Container[] | undefined) ?? [];
}

/** Checks that hold for the base and for every rendered overlay. */
function checkBundle(objs: Obj[], namespace: string): void {
  // Containers: known image, CLI subcommand, resource requests.
  for (const w of workloads(objs)) {
    for (const c of containersOf(w)) {
      const where = `${w.kind}/${w.metadata?.name} container ${c.name}`;
      const imageName = c.image.replace(/:[^/:]+$/, '');
      expect(IMAGE_DOCKERFILES, `${where} image ${c.image}`).toHaveProperty([imageName]);
      expect(c.command, where).toEqual(['node', 'bin/sam-veteran.js']);
      const args = c.args ?? [];
      const sub = CLI_SUBCOMMANDS.find((s) => s.every((word, i) => args[i] === word));
      expect(sub, `${where} args ${JSON.stringify(args)} name a CLI subcommand`).toBeDefined();
      expect(c.resources?.requests?.['cpu'], `${where} cpu request`).toBeDefined();
      expect(c.resources?.requests?.['memory'], `${where} memory request`).toBeDefined();
      expect(c.readinessProbe, `${where} readiness probe`).toBeDefined();
      expect(c.livenessProbe, `${where} liveness probe`).toBeDefined();
    }
    // Prometheus scrape annotations point at a declared container port.
    const ann = (get(w, 'spec.template.metadata.annotations') ?? {}) as Record<string, string>;
    expect(ann['prometheus.io/scrape'], `${w.metadata?.name} scrape annotation`).toBe('true');
    const ports = containersOf(w).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
    expect(ports).toContain(Number(ann['prometheus.io/port']));
    expect(Number(ann['prometheus.io/port'])).toBe(CLUSTER_NAMES.metricsPort);
  }

  // sam-env: Deployment behind a headless Service on the gRPC port, native gRPC probes.
  const samEnv = find(objs, 'Deployment', 'sam-env');
  const svc = find(objs, 'Service', 'sam-env');
  expect(get(svc, 'spec.clusterIP')).toBe('None');
  const podLabels = get(samEnv, 'spec.template.metadata.labels') as Record<string, string>;
  for (const [k, v] of Object.entries(get(svc, 'spec.selector') as Record<string, string>)) {
    expect(podLabels[k], `sam-env Service selector ${k}`).toBe(v);
  }
  expect((get(svc, 'spec.ports') as { port: number }[]).map((p) => p.port)).toContain(
    CLUSTER_NAMES.samEnvGrpcPort,
  );
  const envContainer = containersOf(samEnv)[0]!;
  expect(envContainer.readinessProbe?.['grpc']).toEqual({
    port: CLUSTER_NAMES.samEnvGrpcPort,
    service: CLUSTER_NAMES.samEnvGrpcService,
  });
  expect(get(envContainer, 'livenessProbe.grpc.port')).toBe(CLUSTER_NAMES.samEnvGrpcPort);

  // Actors: a Deployment without fixed replicas, scaled by KEDA on the tasks consumer backlog.
  const actor = find(objs, 'Deployment', 'actor');
  expect(get(actor, 'spec.replicas'), 'actor replicas are owned by KEDA').toBeUndefined();
  const so = find(objs, 'ScaledObject', 'actor');
  expect(get(so, 'spec.scaleTargetRef')).toMatchObject({ kind: 'Deployment', name: 'actor' });
  const min = get(so, 'spec.minReplicaCount') as number;
  const max = get(so, 'spec.maxReplicaCount') as number;
  expect(min).toBeGreaterThanOrEqual(0);
  expect(max).toBeGreaterThanOrEqual(Math.max(1, min));
  const triggers = get(so, 'spec.triggers') as { type: string; metadata: Record<string, string> }[];
  expect(triggers).toHaveLength(1);
  const t = triggers[0]!;
  expect(t.type).toBe('nats-jetstream');
  expect(t.metadata).toMatchObject({
    natsServerMonitoringEndpoint: `nats-headless.${namespace}.svc.cluster.local:${CLUSTER_NAMES.natsMonitorPort}`,
    account: '$G',
    stream: CLUSTER_NAMES.tasksStream,
    consumer: CLUSTER_NAMES.tasksConsumer,
  });
  expect(Number(t.metadata['lagThreshold'])).toBeGreaterThan(0);

  // Learner: one replica, governing headless Service, checkpoints on a volumeClaimTemplate.
  const learner = find(objs, 'StatefulSet', 'learner');
  expect(get(learner, 'spec.replicas')).toBe(1);
  expect(get(find(objs, 'Service', get(learner, 'spec.serviceName') as string), 'spec.clusterIP')).toBe(
    'None',
  );
  const claims = (get(learner, 'spec.volumeClaimTemplates') as Obj[]).map((c) => c.metadata?.name);
  expect(claims).toContain('checkpoints');
  const mounts = containersOf(learner)[0]!.volumeMounts ?? [];
  const ckptMount = mounts.find((m) => m.name === 'checkpoints');
  expect(ckptMount).toBeDefined();

  // ConfigMap: accepted by the strict configuration schema; addresses follow the namespace.
  const cm = find(objs, 'ConfigMap', 'samv-config');
  const data = get(cm, 'data') as Record<string, string>;
  const config = loadConfig(SamVeteranConfigSchema, { env: data });
  expect(config.actor.envAddresses).toEqual([
    `dns:///sam-env.${namespace}.svc.cluster.local:${CLUSTER_NAMES.samEnvGrpcPort}`,
  ]);
  expect(config.actor.busUrl).toBe(
    `nats://nats.${namespace}.svc.cluster.local:${CLUSTER_NAMES.natsClientPort}`,
  );
  expect(config.learner.busUrl).toBe(config.actor.busUrl);
  expect(config.learner.checkpointDir.startsWith(ckptMount!.mountPath)).toBe(true);
  expect(config.samEnv.port).toBe(CLUSTER_NAMES.samEnvGrpcPort);
  for (const w of workloads(objs)) {
    for (const c of containersOf(w)) {
      const refs = (get(c, 'envFrom') as { configMapRef?: { name: string } }[] | undefined) ?? [];
      expect(
        refs.map((r) => r.configMapRef?.name),
        `${w.metadata?.name} envFrom`,
      ).toContain('samv-config');
    }
  }
}

function hasKubectl(): boolean {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

describe('deploy/k8s manifests', () => {
  const files = yamlFiles(K8S);

  it('parse as YAML', () => {
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect(() => parseFile(f), relative(REPO_ROOT, f)).not.toThrow();
  });

  it('kustomizations refer only to files that exist, and every image has a Dockerfile', () => {
    const kustomizations = files.filter((f) => f.endsWith('kustomization.yaml'));
    expect(kustomizations.map((f) => relative(K8S, f)).sort()).toEqual([
      'base/kustomization.yaml',
      'overlays/cpu-dev/kustomization.yaml',
      'overlays/gpu/kustomization.yaml',
    ]);
    for (const f of kustomizations) {
      const dir = dirname(f);
      const k = parseFile(f)[0] as {
        resources?: string[];
        patches?: { path?: string }[];
        images?: { name: string; newName?: string }[];
      };
      for (const r of k.resources ?? []) {
        const p = join(dir, r);
        expect(existsSync(p), `${relative(K8S, f)}: resource ${r}`).toBe(true);
        if (statSync(p).isDirectory()) expect(existsSync(join(p, 'kustomization.yaml'))).toBe(true);
      }
      for (const p of k.patches ?? []) {
        if (p.path !== undefined)
          expect(existsSync(join(dir, p.path)), `${relative(K8S, f)}: patch ${p.path}`).toBe(true);
      }
      for (const img of k.images ?? []) {
        const name = img.newName ?? img.name;
        expect(IMAGE_DOCKERFILES, `${relative(K8S, f)} image ${name}`).toHaveProperty([name]);
      }
    }
    for (const dockerfile of Object.values(IMAGE_DOCKERFILES)) {
      expect(existsSync(join(DOCKER, dockerfile)), dockerfile).toBe(true);
    }
  });

  it('base: containers, KEDA, headless sam-env, learner volume, requests and config hold together', () => {
    checkBundle(kustomizationResources(join(K8S, 'base')), 'samv');
  });

  it('gpu overlay puts sam-env on GPU nodes with the GPU image and the CUDA provider', () => {
    const patch = parseFile(join(K8S, 'overlays', 'gpu', 'sam-env-gpu.yaml'))[0]!;
    const spec = get(patch, 'spec.template.spec') as Record<string, unknown>;
    expect(get(spec, 'nodeSelector')).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(get(spec, 'tolerations')).toContainEqual({
      key: 'nvidia.com/gpu',
      operator: 'Exists',
      effect: 'NoSchedule',
    });
    const c = (get(spec, 'containers') as Container[])[0]!;
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe(1);
    expect(c.resources?.requests?.['nvidia.com/gpu'], 'GPUs belong in limits only').toBeUndefined();
    const cm = parseFile(join(K8S, 'overlays', 'gpu', 'config-gpu.yaml'))[0]!;
    const cfg = loadConfig(SamVeteranConfigSchema, { env: get(cm, 'data') as Record<string, string> });
    expect(cfg.samEnv).toMatchObject({ model: 'sam2-onnx', executionProvider: 'cuda' });
  });

  it('NATS Helm values: clustered JetStream with file storage on PVCs and monitoring for KEDA', () => {
    const v = parseFile(join(K8S, 'nats', 'nats-values.yaml'))[0]!;
    expect(get(v, 'config.cluster.enabled')).toBe(true);
    expect(get(v, 'config.cluster.replicas')).toBe(3);
    expect(get(v, 'config.jetstream.enabled')).toBe(true);
    expect(get(v, 'config.jetstream.fileStore.enabled')).toBe(true);
    expect(get(v, 'config.jetstream.fileStore.pvc.enabled')).toBe(true);
    expect(get(v, 'config.monitor')).toMatchObject({ enabled: true, port: CLUSTER_NAMES.natsMonitorPort });
    expect(get(v, 'service.ports.monitor.enabled')).toBe(true);
    const dev = parseFile(join(K8S, 'nats', 'nats-values-dev.yaml'))[0]!;
    expect(get(dev, 'config.jetstream.fileStore.pvc.enabled')).toBe(true);
    expect(get(dev, 'config.monitor.enabled')).toBe(true);
  });

  it('Dockerfiles: Node 20, production deps, non-root, healthcheck, CLI entrypoint; the GPU one fetches CUDA', () => {
    for (const [image, file] of Object.entries(IMAGE_DOCKERFILES)) {
      const text = readFileSync(join(DOCKER, file), 'utf8');
      const where = `${file} (${image})`;
      expect(text, where).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
      expect(text, where).toMatch(/RUN npm ci --omit=dev/);
      expect(text, where).toMatch(/^USER 10001:10001$/m);
      expect(text, where).toMatch(/^HEALTHCHECK .*\n?.*deploy\/docker\/healthcheck\.ts/m);
      expect(text, where).toContain('ENTRYPOINT ["node", "bin/sam-veteran.js"]');
      const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(text)?.[1] ?? '[]') as string[];
      expect(
        CLI_SUBCOMMANDS.some((sub) => sub.every((w, i) => cmd[i] === w)),
        `${where} CMD ${JSON.stringify(cmd)}`,
      ).toBe(true);
      expect(existsSync(join(DOCKER, `${file}.dockerignore`)), `${file}.dockerignore`).toBe(true);
      const gpu = image.endsWith('-gpu');
      expect(text.includes('ENV ONNXRUNTIME_NODE_INSTALL=1'), where).toBe(gpu);
      expect(/^ARG CUDA_IMAGE=nvidia\/cuda:12\.[0-9.]+-cudnn-runtime-/m.test(text), where).toBe(gpu);
    }
    expect(existsSync(join(DOCKER, 'healthcheck.ts'))).toBe(true);
  });

  it.runIf(hasKubectl())('overlays render with kubectl kustomize and keep every invariant', () => {
    for (const [overlay, ns] of [
      ['gpu', 'samv'],
      ['cpu-dev', 'samv-dev'],
    ] as const) {
      const out = execFileSync('kubectl', ['kustomize', join(K8S, 'overlays', overlay)], {
        encoding: 'utf8',
        timeout: 30_000,
      });
      const objs = parseYaml(out, `kustomize ${overlay}`);
      for (const o of objs) if (o.kind !== 'Namespace') expect(o.metadata?.namespace, `${o.kind}`).toBe(ns);
      checkBundle(objs, ns);
      if (overlay === 'gpu') {
        const c = containersOf(find(objs, 'Deployment', 'sam-env'))[0]!;
        expect(c.image).toBe('sam-veteran/sam-env-gpu:0.1.0');
        expect(c.resources?.limits?.['nvidia.com/gpu']).toBe(1);
      }
    }
  });
});
