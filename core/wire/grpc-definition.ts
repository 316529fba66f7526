/**
 * Runtime loading of the SamEnv gRPC service with @grpc/proto-loader (typed by core/generated).
 * The package definition is loaded once per process and shared by servers, clients and reflection.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from '../generated/sam_env.ts';
import { PROTO_FILES, PROTO_LOADER_OPTIONS, protoPath } from './proto-files.ts';

export type { SamEnvClient as SamEnvGrpcClient, SamEnvHandlers } from '../generated/samveteran/v1/SamEnv.ts';

let cached: { packageDefinition: protoLoader.PackageDefinition; proto: ProtoGrpcType } | undefined;

/** Loads sam_env.proto (and its imports) once. */
export function loadSamEnvDefinition(): {
  packageDefinition: protoLoader.PackageDefinition;
  proto: ProtoGrpcType;
} {
  if (!cached) {
    const packageDefinition = protoLoader.loadSync(protoPath(PROTO_FILES.samEnv), {
      ...PROTO_LOADER_OPTIONS,
    });
    const proto = grpc.loadPackageDefinition(packageDefinition) as unknown as ProtoGrpcType;
    cached = { packageDefinition, proto };
  }
  return cached;
}
export type {
  TransitionRequest,
  TransitionRequest__Output,
} from '../generated/samveteran/v1/TransitionRequest.ts';
export type {
  TransitionResponse,
  TransitionResponse__Output,
} from '../generated/samveteran/v1/TransitionResponse.ts';
export type {
  TransitionGroupRequest,
  TransitionGroupRequest__Output,
} from '../generated/samveteran/v1/TransitionGroupRequest.ts';
export type {
  TransitionGroupResponse,
  TransitionGroupResponse__Output,
} from '../generated/samveteran/v1/TransitionGroupResponse.ts';
export type {
  TransitionStreamRequest,
  TransitionStreamRequest__Output,
} from '../generated/samveteran/v1/TransitionStreamRequest.ts';
export type {
  TransitionStreamResponse,
  TransitionStreamResponse__Output,
} from '../generated/samveteran/v1/TransitionStreamResponse.ts';
