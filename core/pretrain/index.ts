export * from './pretrain.ts';
export { DENSE_CLASSES, denseTargetsOf } from './dense-targets.ts';
export * from './point-targets.ts';
