/**
 * Local cluster launcher: a process supervisor, a JetStream nats-server launcher, and the default
 * local topology as data. Used by `sam-veteran cluster up` and by integration tests.
 */
export { ProcessSupervisor } from './process-supervisor.ts';
export type { GroupTemplate, SupervisorEvents, SupervisorOptions } from './process-supervisor.ts';
export { killGroup } from './managed-process.ts';
export type { ProcessSpec, ProcessState, ProcessStatus, RestartPolicy } from './managed-process.ts';
export { checkReadiness, describeReadiness, probeHttp, probeTcp } from './readiness.ts';
export type { Readiness } from './readiness.ts';
export { getFreePort, getFreePorts } from './free-port.ts';
export { cpusOf, formatCpuList, hasTaskset, parseCpuList, pinProcess, pinnedSpec } from './cpu-affinity.ts';
export { startNatsServer } from './nats-process.ts';
export type { NatsProcess, NatsProcessOptions } from './nats-process.ts';
export { CLUSTER_NAMES } from './cluster-names.ts';
export {
  CLI_PATH,
  DEFAULT_LOCAL_COUNTS,
  REPO_ROOT,
  actorEntry,
  allocateLocalPorts,
  buildLocalTopology,
  toProcessSpec,
} from './topology.ts';
export type {
  LocalPorts,
  LocalTopology,
  LocalTopologyOptions,
  TopologyEntry,
  TopologyRole,
} from './topology.ts';
