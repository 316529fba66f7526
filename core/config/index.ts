export * from './config-error.ts';
export * from './load-config.ts';
export * from './sam-env-config.ts';
export * from './actor-config.ts';
export * from './learner-config.ts';
export * from './bus-config.ts';
export * from './service-config.ts';
