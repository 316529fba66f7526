// Original file: proto/samveteran/v1/common.proto

export const PointLabel = {
  POINT_LABEL_UNSPECIFIED: 'POINT_LABEL_UNSPECIFIED',
  /**
   * Background click: "this is not the object".
   */
  POINT_LABEL_NEGATIVE: 'POINT_LABEL_NEGATIVE',
  /**
   * Foreground click: "this is the object".
   */
  POINT_LABEL_POSITIVE: 'POINT_LABEL_POSITIVE',
} as const;

export type PointLabel =
  | 'POINT_LABEL_UNSPECIFIED'
  | 0
  /**
   * Background click: "this is not the object".
   */
  | 'POINT_LABEL_NEGATIVE'
  | 1
  /**
   * Foreground click: "this is the object".
   */
  | 'POINT_LABEL_POSITIVE'
  | 2

export type PointLabel__Output = typeof PointLabel[keyof typeof PointLabel]
