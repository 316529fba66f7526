/**
 * The whole configuration tree, one section per service plus the shared reward thresholds. Every
 * process loads the same tree (so one file or one set of SAMV_* variables can configure a whole
 * cluster) and reads its sections; strict objects turn misspelt keys into errors.
 */
import { z } from 'zod';
import { RewardConfigSchema } from '../reward/index.ts';
import { ActorConfigSchema } from './actor-config.ts';
import { BusConfigSchema } from './bus-config.ts';
import { LearnerConfigSchema } from './learner-config.ts';
import { SamEnvConfigSchema } from './sam-env-config.ts';

export const SamVeteranConfigSchema = z.strictObject({
  samEnv: SamEnvConfigSchema.prefault({}),
  actor: ActorConfigSchema.prefault({}),
  learner: LearnerConfigSchema.prefault({}),
  bus: BusConfigSchema.prefault({}),
  rewards: RewardConfigSchema.prefault({}),
});

export type SamVeteranConfig = z.infer<typeof SamVeteranConfigSchema>;
