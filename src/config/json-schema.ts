import { z } from 'zod';
import { configSchema } from './schema.js';

/** JSON Schema (draft 2020-12) of the config file, generated from the zod schema so the two never drift. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, $id: 'https://github.com/balancer/balancer/schema/balancer.schema.json' };
}
