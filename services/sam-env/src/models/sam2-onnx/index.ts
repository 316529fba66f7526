/** The `sam2-onnx` environment model plugin: public surface. */
export { LOW_RES } from './prompt-encoding.ts';
export {
  createSam2OnnxModel,
  Sam2OnnxModel,
  type Sam2OnnxOptions,
  type Sam2Embedding,
} from './sam2-onnx-model.ts';
export {
  detectFamily,
  familySpec,
  isSam2OnnxFamily,
  SAM_ONNX_FAMILIES,
  type FamilySpec,
  type Sam2OnnxFamily,
  type SelectionRule,
  type TensorSpec,
} from './families.ts';
export type { ExecutionProviderName, ModelSource } from './ort-session.ts';
export {
  preprocessImage,
  resizedSize,
  toModelFrame,
  SAM_INPUT_SIZE,
  type PreprocessKind,
} from './image-transforms.ts';
export { selectToken, stabilityScore, upsampleBilinear } from './mask-postprocess.ts';
export {
  buildFixtureModels,
  fixtureReference,
  FIXTURE,
  FIXTURE_TOKENS,
  type FixtureModels,
  type FixtureExpectation,
} from './fixtures/index.ts';
