/**
 * The cluster's shared names — streams, consumers, buckets, ports — as one table for the local
 * launcher, the Kubernetes manifests (deploy/k8s, checked against this by
 * test/deploy/manifests.test.ts) and deploy/README.md. The bus code (core/bus) must create and use
 * exactly these names; the KEDA ScaledObject watches `tasksStream`/`tasksConsumer` by name.
 */

export const CLUSTER_NAMES = {
  /** JetStream work-queue stream of tasks (learner feeder → actors). */
  tasksStream: 'SAMV_TASKS',
  tasksSubject: 'samv.tasks',
  /** Durable pull consumer shared by all actors; KEDA scales on its backlog. */
  tasksConsumer: 'actors',
  /** Stream of RolloutGroup messages (actors → learner), de-duplicated by message id. */
  groupsStream: 'SAMV_GROUPS',
  groupsSubject: 'samv.groups',
  groupsConsumer: 'learner',
  /** KV bucket holding the `latest` weights pointer (version + digest). */
  weightsKvBucket: 'samv-weights',
  weightsLatestKey: 'latest',
  /** Object Store bucket holding the versioned weight blobs. */
  weightsObjectStore: 'samv-weights',
  /** gRPC service of sam-env (also the name its health service reports). */
  samEnvGrpcService: 'samveteran.v1.SamEnv',
  samEnvGrpcPort: 50051,
  /** Prometheus /metrics port of every service in the Kubernetes pods. */
  metricsPort: 9464,
  /** NATS client and monitoring ports (Helm chart defaults). */
  natsClientPort: 4222,
  natsMonitorPort: 8222,
} as const;
