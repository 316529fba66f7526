export type {
  Bus,
  BusMessage,
  ConsumeOptions,
  DeadTask,
  GroupMessage,
  PolicyPointer,
  PublishAck,
  PullOptions,
  Subscription,
  TaskCounts,
  TaskMessage,
  WeightsInfo,
} from './types.ts';
export type { BusOptions, GroupStreamOptions, TaskQueueOptions } from './options.ts';
export { busNames, resolveBusOptions } from './options.ts';
export { InProcessBroker, InProcessBus, type InProcessBusOptions } from './in-process-bus.ts';
export { JetStreamBus, type JetStreamBusOptions } from './jetstream-bus.ts';
export { createBus, type CreateBusOptions } from './create-bus.ts';
export { weightsDigest, verifyWeightsDigest } from './weights-digest.ts';
