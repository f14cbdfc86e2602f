// `openem-config schemas`: the JSON Schemas of the input files, for editors. With no argument it
// lists them; `schemas NAME` prints one; `--out DIR` writes them all as DIR/<name>.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { MainIO } from '../cli-common.js';
import { EXIT } from '../exit-codes.js';
import { DOCUMENTS, findDocument, schemaDirective, schemaFile, schemaText, SCHEMAS_DIR } from './documents.js';

/** Writes every schema into `dir` (created when missing); returns the paths written. */
export function writeSchemas(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return DOCUMENTS.map((document) => {
    const path = join(dir, schemaFile(document));
    writeFileSync(path, schemaText(document));
    return path;
  });
}

const HELP_AFTER = `
Without NAME or --out, lists the schemas and the first line that points a file at its schema.
Editors read that line: taplo (VS Code's Even Better TOML) the TOML comment \`#:schema PATH\`,
yaml-language-server (VS Code's YAML extension) \`# yaml-language-server: $schema=PATH\`.
init and export write these schemas into ${SCHEMAS_DIR}/ beside their files with those lines.`;

/** Fills in `program.command('schemas')`; `done` receives the exit code. */
export function defineSchemasCommand(command: Command, io: MainIO, done: (code: number) => void): Command {
  return command
    .description('list the JSON Schemas of the input files (for editors), print one (NAME), or write them all (--out DIR)')
    .argument('[name]', `print this schema to stdout: ${DOCUMENTS.map((document) => document.name).join(', ')}`)
    .option('--out <dir>', 'write every schema into DIR as <name>.json (DIR is created when missing)')
    .addHelpText('after', HELP_AFTER)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .action((name: string | undefined, options: { out?: string }) => {
      done(schemas(name, options.out, io));
    });
}

function schemas(name: string | undefined, out: string | undefined, io: MainIO): number {
  if (name !== undefined && out !== undefined) {
    io.stderr('error: give either NAME (print one schema) or --out DIR (write them all), not both\n');
    return EXIT.invalidInput;
  }
  if (name !== undefined) {
    const document = findDocument(name);
    if (!document) {
      io.stderr(`error: no schema ${JSON.stringify(name)}; the schemas are ${DOCUMENTS.map((known) => known.name).join(', ')}\n`);
      return EXIT.invalidInput;
    }
    io.stdout(schemaText(document));
    return EXIT.ok;
  }
  if (out !== undefined) {
    const dir = resolve(io.cwd ?? process.cwd(), out);
    const written = writeSchemas(dir);
    io.stdout(`Wrote ${written.length} schemas to ${dir}: ${DOCUMENTS.map(schemaFile).join(', ')}\n`);
    return EXIT.ok;
  }
  const lines = DOCUMENTS.map((document) => `${document.name.padEnd(13)} ${document.describes}\n${' '.repeat(14)}${schemaDirective(document, `./${SCHEMAS_DIR}/${schemaFile(document)}`)}`);
  io.stdout(`${lines.join('\n')}\n`);
  return EXIT.ok;
}
