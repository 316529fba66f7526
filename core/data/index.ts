export * from './sample.ts';
export * from './synthetic/vocabulary.ts';
export { polygonArea, shapePolygon, type ShapeGeometry } from './synthetic/shapes.ts';
export {
  layoutScene,
  objectMaskData,
  type ObjectSpec,
  type Scene,
  type SceneObject,
} from './synthetic/scene.ts';
export * from './synthetic/referring.ts';
export { planQuery, TEMPLATE_IDS, type QueryFamily, type QueryPlan } from './synthetic/templates.ts';
export * from './synthetic/generate.ts';
export * from './io/data-format-error.ts';
export * from './io/dataset-format.ts';
export * from './io/dataset-writer.ts';
export * from './io/dataset-reader.ts';
export * from './io/image-io.ts';
export * from './loaders/reasonseg.ts';
export * from './loaders/refcoco.ts';
export * from './dataset-spec.ts';
export * from './contact-sheet.ts';
