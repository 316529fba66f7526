# syntax=docker/dockerfile:1.7
# sam-env, GPU image: sam2-onnx on onnxruntime-node's CUDA execution provider.
#   docker build -f deploy/docker/sam-env-gpu.Dockerfile -t sam-veteran/sam-env-gpu:0.1.0 .
# onnxruntime-node 1.30 needs CUDA 12.x and cuDNN 9.x at run time (the cudnn-runtime base has both)
# and does not ship the CUDA provider in its npm tarball: its install script downloads
# libonnxruntime_providers_{cuda,shared,tensorrt}.so from the NuGet package
# Microsoft.ML.OnnxRuntime.Gpu.Linux. ONNXRUNTIME_NODE_INSTALL=1 forces that download at build
# time (it overrides the repository's .npmrc `onnxruntime-node-install=skip`); the build therefore
# needs access to api.nuget.org (or GLOBAL_AGENT_HTTPS_PROXY).
ARG NODE_IMAGE=node:20-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=1
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Run the provider download explicitly too (npm versions that gate install scripts would skip
# it silently), then fail the build if the CUDA provider is missing.
RUN node node_modules/onnxruntime-node/script/install \
  && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
  && test -f node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so

FROM ${CUDA_IMAGE}
ENV NODE_ENV=production \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /app
# Node 20 from the official image (glibc 2.28+ binary; Ubuntu 22.04 has 2.35). Only `node` is
# needed at run time.
COPY --from=deps /usr/local/bin/node /usr/local/bin/node
RUN groupadd --gid 10001 samv && useradd --uid 10001 --gid samv --no-create-home --shell /usr/sbin/nologin samv
COPY --from=deps /app/node_modules ./node_modules
COPY . .
USER 10001:10001
EXPOSE 50051 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=3 \
  CMD ["node", "--import", "tsx", "deploy/docker/healthcheck.ts", "grpc", "127.0.0.1:50051", "samveteran.v1.SamEnv"]
ENTRYPOINT ["node", "bin/sam-veteran.js"]
CMD ["env", "serve"]
