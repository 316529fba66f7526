export * from './agent-loop.ts';
export * from './episode-metrics.ts';
export * from './oracle.ts';
export * from './episode-sheet.ts';
export * from './evaluate.ts';
