// The published JSON Schema of workload files, schema/workload.schema.json, generated from the
// zod schema in spec.ts: `npm run schema` writes it, test/unit/spec.test.ts checks it is up to
// date. A workload file that says "$schema": "<path to it>" gets completion and checking in an
// editor.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../harness/paths.js';
import { workloadJsonSchema } from './spec.js';
import { SCHEMES } from './world.js';

export const SCHEMA_FILE = join(packageRoot(), 'schema', 'workload.schema.json');

export function schemaText(): string {
  return `${JSON.stringify(workloadJsonSchema(SCHEMES), null, 2)}\n`;
}

export function writeSchemaFile(): void {
  writeFileSync(SCHEMA_FILE, schemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
