// Checks parsed files against the schemas `openem-config schemas` writes, with ajv, a maintained
// JSON Schema validator, so that the test does not share the generator's understanding of them.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { DOCUMENTS, findDocument, renderSchema } from '../../src/schemas/documents.js';

// Not strict: the schemas carry `deprecated`, which draft-07 does not define and editors read.
const ajv = new Ajv({ strict: false, allErrors: true });
const validators = new Map<string, ValidateFunction>(DOCUMENTS.map((document) => [document.name, ajv.compile(renderSchema(document))]));

/** A file's content as the tool sees it after parsing: TOML tables, or YAML with anchors and merge keys resolved. */
export function parseFile(path: string, text = readFileSync(path, 'utf8')): unknown {
  return /\.ya?ml$/.test(path) ? parseYaml(text, { merge: true }) : parseToml(text);
}

/** ajv's errors for `data` against the schema `name`; empty when it is valid. */
export function schemaErrors(name: string, data: unknown): string[] {
  const validate = validators.get(name);
  if (!validate) throw new Error(`no schema ${name}`);
  return validate(data) ? [] : (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? ''}`);
}

/** The schema a file's first line names: `#:schema .../<name>.json` or `# yaml-language-server: $schema=.../<name>.json`. */
export function directiveOf(text: string): string | undefined {
  const first = text.slice(0, text.indexOf('\n'));
  const match = /^(?:#:schema |# yaml-language-server: \$schema=)(\S+)\/([\w-]+)\.json$/.exec(first);
  return match && findDocument(match[2]!) ? match[2] : undefined;
}
