/**
 * The environment-model plugin contract. The types live in core/env (the agent loop and actors speak
 * them too); this file re-exports them for the service's plugins.
 */
export type * from '../../../core/env/index.ts';
