/**
 * Where the .proto contracts live and how they are loaded. One set of loader options for every
 * consumer, matching bin/gen-proto.js (which generates core/generated/ with the same options):
 * camelCase field names, 64-bit integers as JS numbers, enums as their string names, bytes as
 * Buffer, default values for absent fields, and a virtual field naming the set member of each oneof.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Directory holding `samveteran/v1/*.proto` (the include root). */
export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));

/** Proto files relative to PROTO_ROOT. */
export const PROTO_FILES = {
  common: 'samveteran/v1/common.proto',
  samEnv: 'samveteran/v1/sam_env.proto',
  training: 'samveteran/v1/training.proto',
} as const;

/** Fully qualified gRPC service name (health checks, reflection, service config). */
export const SAM_ENV_SERVICE = 'samveteran.v1.SamEnv';

/** @grpc/proto-loader options; keep in sync with bin/gen-proto.js. */
export const PROTO_LOADER_OPTIONS = {
  keepCase: false as const,
  longs: Number,
  enums: String,
  bytes: Buffer,
  defaults: true,
  arrays: true,
  objects: false,
  oneofs: true,
  includeDirs: [PROTO_ROOT] as string[],
};

export function protoPath(file: string): string {
  return join(PROTO_ROOT, file);
}
