# Rotor's container image: Node 24 LTS, production dependencies only, a non-root user.
# No Docker engine runs on the machines this project is developed and tested on, so this file is
# not built in CI; it is kept deliberately plain so that it is easy to check by eye.

FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# The `node` devDependency brings Node 24 to machines without it; the image already has it.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
USER node
EXPOSE 8080 8443
# --max-semi-space-size=2: see PRODUCTION_NODE_FLAGS in hack/operator/process.ts (keep the same).
ENTRYPOINT ["node", "--max-semi-space-size=2", "dist/main.js"]
