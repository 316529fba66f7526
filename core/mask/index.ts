export * from './binary-mask.ts';
export type * from './types.ts';
