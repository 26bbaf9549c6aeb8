# One image for every service; the Deployment chooses the entry point (see k8s/base).
# TypeScript is transpiled at start-up by @swc-node/register (tools/run.js): no build step,
# and the code that runs is the code that was tested.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
# Optional dependencies stay: @swc/core's native binary for this platform is one of them.
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY tools ./tools
COPY libs ./libs
COPY apps ./apps
USER node
ENV NODE_ENV=production
CMD ["node", "tools/run.js", "apps/tandem/src/main.ts", "--help"]
