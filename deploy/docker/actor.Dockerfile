# syntax=docker/dockerfile:1.7
# actor: pulls tasks from JetStream, samples groups with the policy (tfjs WebAssembly backend),
# calls sam-env over gRPC, publishes RolloutGroups. CPU only.
#   docker build -f deploy/docker/actor.Dockerfile -t sam-veteran/actor:0.1.0 .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --gid 10001 samv && useradd --uid 10001 --gid samv --no-create-home --shell /usr/sbin/nologin samv
COPY --from=deps /app/node_modules ./node_modules
COPY . .
USER 10001:10001
EXPOSE 9464
HEALTHCHECK --interval=20s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "--import", "tsx", "deploy/docker/healthcheck.ts", "http", "http://127.0.0.1:9464/metrics"]
ENTRYPOINT ["node", "bin/sam-veteran.js"]
CMD ["actor"]
