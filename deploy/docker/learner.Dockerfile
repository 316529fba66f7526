# syntax=docker/dockerfile:1.7
# learner: feeder, GRPO updates (tfjs WebAssembly backend), weight publishing, checkpoints under
# /var/lib/sam-veteran (a volume in Kubernetes). CPU only.
#   docker build -f deploy/docker/learner.Dockerfile -t sam-veteran/learner:0.1.0 .
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --gid 10001 samv && useradd --uid 10001 --gid samv --no-create-home --shell /usr/sbin/nologin samv \
  && mkdir -p /var/lib/sam-veteran && chown samv:samv /var/lib/sam-veteran
COPY --from=deps /app/node_modules ./node_modules
COPY . .
USER 10001:10001
VOLUME ["/var/lib/sam-veteran"]
EXPOSE 9464
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["node", "--import", "tsx", "deploy/docker/healthcheck.ts", "http", "http://127.0.0.1:9464/metrics"]
ENTRYPOINT ["node", "bin/sam-veteran.js"]
CMD ["learner", "--run-dir", "/var/lib/sam-veteran/run"]
