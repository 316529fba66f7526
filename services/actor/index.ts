export { Actor, type ActorOptions, type ActorState, type ActorStats, type KindStats } from './src/actor.ts';
export { ActorMetrics } from './src/actor-metrics.ts';
export {
  dynamicSample,
  sampleBoxGroup,
  sampleRefineGroup,
  typeDrawWeights,
  type ActionSampler,
  type BoxSamplingOptions,
  type DynamicSampleOptions,
  type DynamicSampleResult,
  type RefineSamplingOptions,
} from './src/dynamic-sampling.ts';
export { GrpcEnvPort } from './src/grpc-env-port.ts';
export { isRetryable, RetryingEnv, type RetryOptions } from './src/retrying-env.ts';
export {
  runActorTask,
  tilePrepared,
  TaskRejectedError,
  type PolicySource,
  type RunTaskDeps,
  type SamplingSettings,
  type TaskOutcome,
} from './src/run-task.ts';
export { SampleResolver, type ResolvedSample, type SampleResolverOptions } from './src/sample-resolver.ts';
export { isZeroVariance, scoreRollouts, transitionPrompts, type ScoreOptions } from './src/scoring.ts';
export {
  buildState,
  DEFAULT_STATE_OPTIONS,
  toEnvImageOf,
  type BuildStateDeps,
  type StateOptions,
  type StateOrigin,
  type TaskState,
} from './src/state-builder.ts';
export { WeightsHolder, type SwapRecord, type WeightsHolderOptions } from './src/weights-holder.ts';
