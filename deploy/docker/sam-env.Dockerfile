# syntax=docker/dockerfile:1.7
# sam-env, CPU image: the GrabCut env model (OpenCV.js) and sam2-onnx on onnxruntime's CPU provider.
#   docker build -f deploy/docker/sam-env.Dockerfile -t sam-veteran/sam-env:0.1.0 .
# Build context = repository root; sam-env.Dockerfile.dockerignore keeps it small.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# The CPU provider ships inside the onnxruntime-node tarball; skip the CUDA download.
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
# Production dependencies only; tsx is one of them because the services run TypeScript directly.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --gid 10001 samv && useradd --uid 10001 --gid samv --no-create-home --shell /usr/sbin/nologin samv
COPY --from=deps /app/node_modules ./node_modules
COPY . .
USER 10001:10001
EXPOSE 50051 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "--import", "tsx", "deploy/docker/healthcheck.ts", "grpc", "127.0.0.1:50051", "samveteran.v1.SamEnv"]
ENTRYPOINT ["node", "bin/sam-veteran.js"]
CMD ["env", "serve"]
