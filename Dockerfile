# syntax=docker/dockerfile:1
FROM node:20-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-fund --no-audit && (node -e "require('better-sqlite3')" || npm rebuild better-sqlite3)
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# the build also bundles the operator console into dist/console/assets (shipped with dist below)
RUN npm run build && test -s dist/console/assets/app.js && npm prune --omit=dev

FROM node:20-slim
RUN apt-get update && apt-get install -y --no-install-recommends smbclient tini && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/fieldhub --shell /usr/sbin/nologin fieldhub \
 && mkdir -p /var/lib/fieldhub && chown fieldhub:fieldhub /var/lib/fieldhub
WORKDIR /opt/fieldhub
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
ENV NODE_ENV=production FIELDHUB_HOST=0.0.0.0 FIELDHUB_PORT=8080 FIELDHUB_DATA_DIR=/var/lib/fieldhub
USER fieldhub
VOLUME ["/var/lib/fieldhub"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.FIELDHUB_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/cli.js", "serve"]
