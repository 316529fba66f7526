export * from './pretrain.ts';
