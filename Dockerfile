# The server image: dependencies first (cached while package-lock.json is unchanged),
# then the sources and the built dashboard. devDependencies stay, since the server runs
# TypeScript through tsx and the dashboard is built with Vite.
FROM node:20
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build
ENV PORT=8000
EXPOSE 8000
# What `npm start` runs, without rebuilding the dashboard on every start: a young
# generation of 64 MB, since hundreds of requests in flight each hold their objects
# across a database round trip (the README: Operations, "Node's young generation").
CMD ["node", "--max-semi-space-size=64", "--import", "tsx", "api/main.ts"]
