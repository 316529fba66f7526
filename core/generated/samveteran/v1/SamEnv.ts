// Original file: proto/samveteran/v1/sam_env.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { InfoRequest as _samveteran_v1_InfoRequest, InfoRequest__Output as _samveteran_v1_InfoRequest__Output } from '../../samveteran/v1/InfoRequest.ts';
import type { InfoResponse as _samveteran_v1_InfoResponse, InfoResponse__Output as _samveteran_v1_InfoResponse__Output } from '../../samveteran/v1/InfoResponse.ts';
import type { TransitionGroupRequest as _samveteran_v1_TransitionGroupRequest, TransitionGroupRequest__Output as _samveteran_v1_TransitionGroupRequest__Output } from '../../samveteran/v1/TransitionGroupRequest.ts';
import type { TransitionGroupResponse as _samveteran_v1_TransitionGroupResponse, TransitionGroupResponse__Output as _samveteran_v1_TransitionGroupResponse__Output } from '../../samveteran/v1/TransitionGroupResponse.ts';
import type { TransitionRequest as _samveteran_v1_TransitionRequest, TransitionRequest__Output as _samveteran_v1_TransitionRequest__Output } from '../../samveteran/v1/TransitionRequest.ts';
import type { TransitionResponse as _samveteran_v1_TransitionResponse, TransitionResponse__Output as _samveteran_v1_TransitionResponse__Output } from '../../samveteran/v1/TransitionResponse.ts';
import type { TransitionStreamRequest as _samveteran_v1_TransitionStreamRequest, TransitionStreamRequest__Output as _samveteran_v1_TransitionStreamRequest__Output } from '../../samveteran/v1/TransitionStreamRequest.ts';
import type { TransitionStreamResponse as _samveteran_v1_TransitionStreamResponse, TransitionStreamResponse__Output as _samveteran_v1_TransitionStreamResponse__Output } from '../../samveteran/v1/TransitionStreamResponse.ts';

export interface SamEnvClient extends grpc.Client {
  /**
   * Model identity and limits.
   */
  Info(argument: _samveteran_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _samveteran_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _samveteran_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  Info(argument: _samveteran_v1_InfoRequest, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Model identity and limits.
   */
  info(argument: _samveteran_v1_InfoRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _samveteran_v1_InfoRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _samveteran_v1_InfoRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  info(argument: _samveteran_v1_InfoRequest, callback: grpc.requestCallback<_samveteran_v1_InfoResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * One prompt on one image.
   */
  Transition(argument: _samveteran_v1_TransitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  Transition(argument: _samveteran_v1_TransitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  Transition(argument: _samveteran_v1_TransitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  Transition(argument: _samveteran_v1_TransitionRequest, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  /**
   * One prompt on one image.
   */
  transition(argument: _samveteran_v1_TransitionRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  transition(argument: _samveteran_v1_TransitionRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  transition(argument: _samveteran_v1_TransitionRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  transition(argument: _samveteran_v1_TransitionRequest, callback: grpc.requestCallback<_samveteran_v1_TransitionResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Several prompts on one image in one call (a GRPO group): one embedding, batched decoder runs.
   */
  TransitionGroup(argument: _samveteran_v1_TransitionGroupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  TransitionGroup(argument: _samveteran_v1_TransitionGroupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  TransitionGroup(argument: _samveteran_v1_TransitionGroupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  TransitionGroup(argument: _samveteran_v1_TransitionGroupRequest, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Several prompts on one image in one call (a GRPO group): one embedding, batched decoder runs.
   */
  transitionGroup(argument: _samveteran_v1_TransitionGroupRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  transitionGroup(argument: _samveteran_v1_TransitionGroupRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  transitionGroup(argument: _samveteran_v1_TransitionGroupRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  transitionGroup(argument: _samveteran_v1_TransitionGroupRequest, callback: grpc.requestCallback<_samveteran_v1_TransitionGroupResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Many Transition / TransitionGroup calls over one long-lived stream, answered by id in completion
   * order. Same semantics and errors as the unary methods, without a new HTTP/2 stream, headers and
   * trailers per call (the per-call cost that dominates single-prompt calls).
   */
  TransitionStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_samveteran_v1_TransitionStreamRequest, _samveteran_v1_TransitionStreamResponse__Output>;
  TransitionStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_samveteran_v1_TransitionStreamRequest, _samveteran_v1_TransitionStreamResponse__Output>;
  /**
   * Many Transition / TransitionGroup calls over one long-lived stream, answered by id in completion
   * order. Same semantics and errors as the unary methods, without a new HTTP/2 stream, headers and
   * trailers per call (the per-call cost that dominates single-prompt calls).
   */
  transitionStream(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_samveteran_v1_TransitionStreamRequest, _samveteran_v1_TransitionStreamResponse__Output>;
  transitionStream(options?: grpc.CallOptions): grpc.ClientDuplexStream<_samveteran_v1_TransitionStreamRequest, _samveteran_v1_TransitionStreamResponse__Output>;
  
}

export interface SamEnvHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Model identity and limits.
   */
  Info: grpc.handleUnaryCall<_samveteran_v1_InfoRequest__Output, _samveteran_v1_InfoResponse>;
  
  /**
   * One prompt on one image.
   */
  Transition: grpc.handleUnaryCall<_samveteran_v1_TransitionRequest__Output, _samveteran_v1_TransitionResponse>;
  
  /**
   * Several prompts on one image in one call (a GRPO group): one embedding, batched decoder runs.
   */
  TransitionGroup: grpc.handleUnaryCall<_samveteran_v1_TransitionGroupRequest__Output, _samveteran_v1_TransitionGroupResponse>;
  
  /**
   * Many Transition / TransitionGroup calls over one long-lived stream, answered by id in completion
   * order. Same semantics and errors as the unary methods, without a new HTTP/2 stream, headers and
   * trailers per call (the per-call cost that dominates single-prompt calls).
   */
  TransitionStream: grpc.handleBidiStreamingCall<_samveteran_v1_TransitionStreamRequest__Output, _samveteran_v1_TransitionStreamResponse>;
  
}

export interface SamEnvDefinition extends grpc.ServiceDefinition {
  Info: MethodDefinition<_samveteran_v1_InfoRequest, _samveteran_v1_InfoResponse, _samveteran_v1_InfoRequest__Output, _samveteran_v1_InfoResponse__Output>
  Transition: MethodDefinition<_samveteran_v1_TransitionRequest, _samveteran_v1_TransitionResponse, _samveteran_v1_TransitionRequest__Output, _samveteran_v1_TransitionResponse__Output>
  TransitionGroup: MethodDefinition<_samveteran_v1_TransitionGroupRequest, _samveteran_v1_TransitionGroupResponse, _samveteran_v1_TransitionGroupRequest__Output, _samveteran_v1_TransitionGroupResponse__Output>
  TransitionStream: MethodDefinition<_samveteran_v1_TransitionStreamRequest, _samveteran_v1_TransitionStreamResponse, _samveteran_v1_TransitionStreamRequest__Output, _samveteran_v1_TransitionStreamResponse__Output>
}
