/**
 * sam-env's public surface: the gRPC server and client, the env-model registry, the image stores
 * and the in-process env ports. Other modules import sam-env only through this file.
 */
export type * from './src/model.ts';
export { SamEnvServer, type SamEnvServerOptions, type ServerState } from './src/server.ts';
export {
  SamEnvClient,
  encodedImage,
  rawImage,
  storedImage,
  type SamEnvClientOptions,
  type ImagePayload,
  type CallOptions,
  type TransitionReply,
  type TransitionGroupReply,
  type ClientStats,
} from './src/client.ts';
export { SamEnvCallError, DeadlineExceededError } from './src/errors.ts';
export {
  TransitionService,
  type TransitionServiceOptions,
  type TransitionCall,
} from './src/transition-service.ts';
export type { ImageStore, ImageStoreGetOptions, StoredImage } from './src/image-resolver.ts';
export {
  openImageStore,
  parseImageStoreSpec,
  DirectoryImageStore,
  ObjectStoreImageStore,
  DEFAULT_IMAGE_BUCKET,
  type ImageStoreSpec,
  type OpenImageStoreOptions,
  type ObjectStoreImageStoreOptions,
} from './src/image-store.ts';
export {
  createEnvModel,
  ENV_MODEL_KINDS,
  type EnvModelKind,
  type EnvModelSpec,
} from './src/models/registry.ts';
export { createGrabCutModel, GrabCutModel, type GrabCutOptions } from './src/models/grabcut.ts';
export { LocalEnv, type LocalEnvOptions } from './src/local-env.ts';
export { WorkerEnvPool, type WorkerEnvPoolOptions } from './src/worker-env-pool.ts';
export { startSamEnv, handleSignals, modelSpecFromConfig } from './main.ts';
