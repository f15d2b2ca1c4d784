import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildSchema, introspectionFromSchema } from 'graphql';
// gql.tada's own writer, so the file is byte-for-byte what `gql.tada generate output` makes.
import { outputIntrospectionFile } from '@gql.tada/internal';
import type { Plugin } from 'vite';

const rootSchema = fileURLToPath(new URL('../../schema.graphql', import.meta.url));
const contractSchema = fileURLToPath(new URL('../schema.contract.graphql', import.meta.url));
export const outputFile = fileURLToPath(new URL('../src/graphql-env.d.ts', import.meta.url));

/**
 * The server's printed schema wins; the contract only bridges the time before it exists.
 * DASHBOARD_SCHEMA points elsewhere on purpose, e.g. to try a schema change before it lands.
 */
export function schemaPath(): string {
  if (process.env.DASHBOARD_SCHEMA) return process.env.DASHBOARD_SCHEMA;
  return existsSync(rootSchema) ? rootSchema : contractSchema;
}

/**
 * Regenerates the gql.tada introspection types from the schema. Running it on every build
 * is what makes `npm test` (build, then svelte-check) fail when the schema drifts away
 * from the dashboard's documents. Returns whether the file changed.
 */
export function generateGraphQLEnv(): boolean {
  const schema = buildSchema(readFileSync(schemaPath(), 'utf8'));
  const contents = outputIntrospectionFile(introspectionFromSchema(schema), {
    fileType: '.d.ts',
    shouldPreprocess: true,
  });
  const previous = existsSync(outputFile) ? readFileSync(outputFile, 'utf8') : '';
  if (previous === contents) return false;
  writeFileSync(outputFile, contents);
  return true;
}

export function graphqlEnvPlugin(): Plugin {
  return {
    name: 'agent-monitor:graphql-env',
    buildStart() {
      generateGraphQLEnv();
    },
    configureServer(server) {
      server.watcher.add([rootSchema, contractSchema]);
      server.watcher.on('all', (_event, file) => {
        if (file === rootSchema || file === contractSchema) generateGraphQLEnv();
      });
    },
  };
}
