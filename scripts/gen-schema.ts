// Writes schema/balancer.schema.json from the zod config schema (run: npm run schema).
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../src/config/json-schema.js';

writeFileSync(new URL('../../schema/balancer.schema.json', import.meta.url), `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
