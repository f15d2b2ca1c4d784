import fs from 'node:fs';
import { printedSchema } from './schema';

fs.writeFileSync(new URL('../../schema.graphql', import.meta.url), printedSchema());
console.log('wrote schema.graphql');
