# The web and worker image used by docker-compose.yml. With MONGODB_URI and Stripe settings given by the
# environment it needs none of the local tools (.tools/), so it carries neither Java nor Go.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY jobs ./jobs
RUN npm run build

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY views ./views
USER node
EXPOSE 3000
# Node receives SIGTERM directly (no npm or shell in between) and shuts down gracefully.
CMD ["node", "--enable-source-maps", "dist/src/main.js", "all"]
