// Original file: proto/samveteran/v1/training.proto

/**
 * The three GRPO tasks (paper section 3; ARCHITECTURE.md "Three GRPO tasks").
 */
export const TaskKind = {
  TASK_KIND_UNSPECIFIED: 'TASK_KIND_UNSPECIFIED',
  /**
   * State (I, Q) -> box.
   */
  TASK_KIND_LOCALIZATION: 'TASK_KIND_LOCALIZATION',
  /**
   * State (I, Q, M), M a SAM mask -> refine (points) or stop.
   */
  TASK_KIND_MASK_UNDERSTANDING: 'TASK_KIND_MASK_UNDERSTANDING',
  /**
   * State (I, Q, corrupted GT mask) -> points at error-region centres, or stop when nothing is wrong.
   */
  TASK_KIND_AUXILIARY: 'TASK_KIND_AUXILIARY',
} as const;

/**
 * The three GRPO tasks (paper section 3; ARCHITECTURE.md "Three GRPO tasks").
 */
export type TaskKind =
  | 'TASK_KIND_UNSPECIFIED'
  | 0
  /**
   * State (I, Q) -> box.
   */
  | 'TASK_KIND_LOCALIZATION'
  | 1
  /**
   * State (I, Q, M), M a SAM mask -> refine (points) or stop.
   */
  | 'TASK_KIND_MASK_UNDERSTANDING'
  | 2
  /**
   * State (I, Q, corrupted GT mask) -> points at error-region centres, or stop when nothing is wrong.
   */
  | 'TASK_KIND_AUXILIARY'
  | 3

/**
 * The three GRPO tasks (paper section 3; ARCHITECTURE.md "Three GRPO tasks").
 */
export type TaskKind__Output = typeof TaskKind[keyof typeof TaskKind]
