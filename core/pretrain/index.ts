export * from './pretrain.ts';
export { DENSE_CLASSES, denseTargetsOf } from './dense-targets.ts';
