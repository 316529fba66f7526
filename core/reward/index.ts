export * from './reward-config.ts';
export * from './localization.ts';
export * from './mask-understanding.ts';
export * from './auxiliary.ts';
