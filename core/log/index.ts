export * from './logger.ts';
export * from './metrics-server.ts';
