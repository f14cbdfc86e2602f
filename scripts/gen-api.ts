// npm run gen:api: installs the pinned Prefect (cached), asks that real server application for its
// OpenAPI document, writes it under openapi/ and regenerates src/prefect/schema.d.ts.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateTypes, openapiPath, typesPath } from './api-types.js';
import { ensurePrefect, prefectPin } from './prefect-env.js';

const pin = prefectPin();
const venv = ensurePrefect(pin, (line) => console.error(line));
const dump = [
  'import json, sys, prefect',
  'from prefect.server.api.server import create_api_app',
  'document = create_api_app().openapi()',
  'document["info"]["x-prefect-version"] = prefect.__version__',
  'json.dump(document, sys.stdout, indent=1, ensure_ascii=False)',
  'sys.stdout.write("\\n")',
].join('\n');
const result = spawnSync(join(venv, 'bin', 'python'), ['-c', dump], {
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
  env: { ...process.env, PREFECT_HOME: join(venv, '.prefect-home') },
});
if (result.status !== 0) {
  console.error(result.stderr);
  process.exit(1);
}
writeFileSync(openapiPath, result.stdout);
writeFileSync(typesPath, await generateTypes(result.stdout));
console.error(`wrote ${openapiPath} and ${typesPath} from Prefect ${pin.version}`);
