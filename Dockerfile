# syntax=docker/dockerfile:1
# Build stage: compile TypeScript (the native TypeScript 7 compiler) with the dev dependencies.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
RUN npx tsc -p tsconfig.json

# Runtime stage: production dependencies and the compiled code only.
FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
COPY schema ./schema
COPY examples/balancer.json /etc/balancer/balancer.json
USER node
EXPOSE 8000
# Healthy while the listener accepts connections (backend health is the balancer's own business).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["node", "-e", "require('node:net').connect(Number(process.env.BALANCER_PORT||8000),'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))"]
ENTRYPOINT ["node", "/app/dist/src/cli.js"]
CMD ["start", "--config", "/etc/balancer/balancer.json"]
