export * from './types.ts';
export * from './format.ts';
export * from './parse.ts';
export * from './prompts.ts';
export { parseLenientJson, findBracketSpans, LenientJsonError } from './lenient-json.ts';
export type { LenientValue } from './lenient-json.ts';
