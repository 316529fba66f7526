export type * from './types.ts';
export { TASK_KINDS } from './types.ts';
export * from './proto-files.ts';
export * from './value-codec.ts';
export * from './sam-env-codec.ts';
export * from './grpc-definition.ts';
export * from './training-codec.ts';
export * from './mask-codec.ts';
