/** The learner service: task feeder, GRPO updates, weight broadcast and atomic checkpoints. */
export { Learner, type LearnerOptions, type LearnerStepMetrics } from './src/learner.ts';
export { grpoObjective, type GrpoObjective, type GrpoObjectiveInput } from './src/grpo-objective.ts';
export {
  grpoGradients,
  grpoStep,
  grpoStepResult,
  type GrpoGradients,
  type GrpoStepResult,
  type StepSettings,
} from './src/grpo-step.ts';
export { StepThread } from './src/step-thread.ts';
export { Feeder, type FeederOptions, type SampleSource } from './src/feeder.ts';
export {
  assembleBatch,
  buildGroupInput,
  actionKindOf,
  type GroupInput,
  type StepBatch,
} from './src/batch.ts';
export {
  CHECKPOINT_FORMAT,
  checkpointStep,
  latestCheckpoint,
  readCheckpoint,
  writeCheckpoint,
  encodeOptimizerState,
  decodeOptimizerState,
  type Checkpoint,
  type FeederState,
  type LearnerState,
  type OutstandingTask,
} from './src/checkpoint.ts';
export { LearnerMetrics, serveMetrics } from './src/metrics.ts';
