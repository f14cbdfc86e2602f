// `export`: read a server, build the files that declare its state (each kind's export part), read
// them back to prove they say what the server holds, and write them. Nothing here prints or
// exits: the outcome is data.
import { resolve } from 'node:path';
import { loadConnection } from '../config/connection.js';
import { IssueList } from '../errors.js';
import type { Logger } from '../log.js';
import { connect } from '../prefect/client.js';
import type { ExportContext } from '../reconcile/kind.js';
import { writeExport } from './files.js';
import { createMatcher } from '../config/glob.js';
import { assemble } from './assemble.js';
import { renderProjectFile } from './project-file.js';
import { schemaFiles, withSchemaLine } from './schemas.js';
import { README_FILE, renderReadme } from './readme.js';
import { endingWithNewline, readSecretValues } from './secret-values.js';
import type { ApplyArguments, CredentialPolicy, ExportCounts, ExportFile, ExportWarning, Section } from './types.js';
import { readUnexported } from './unexported.js';
import { EXPORTED_KINDS, Scratch, verifyExport, type ExportedKind } from './verify.js';

export interface ExportOptions {
  /** The directory the files go to; created when missing. */
  to: string;
  force: boolean;
  only: readonly Section[];
  /** Globs on object names; none selects everything. */
  match: readonly string[];
  apiUrl?: string | undefined;
  waitTimeoutMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryMinDelayMs?: number | undefined;
  /** Write credentials that match no secret block instead of leaving them out (and exiting 1). */
  allowPlainCredentials?: boolean | undefined;
}

export interface ExportRunContext {
  env: Record<string, string | undefined>;
  logger: Logger;
  fetch?: (request: Request) => Promise<Response>;
}

export interface ExportOutcome {
  dir: string;
  server: { url: string; version: string };
  files: Array<Pick<ExportFile, 'path' | 'summary'>>;
  counts: ExportCounts;
  args: ApplyArguments;
  warnings: ExportWarning[];
  requests: { reads: number; writes: number };
  /** Credentials left out of the files, by object and key path: the export then exits 1. */
  credentialsLeftOut: Array<{ subject: string; paths: string[] }>;
}

export async function runExport(options: ExportOptions, context: ExportRunContext): Promise<ExportOutcome> {
  const { logger, env } = context;
  const issues = new IssueList();
  const connection = loadConnection(env, options.apiUrl, issues);
  issues.throwIfAny();
  if (!connection) throw new Error('no connection and no issue: a bug in loadConnection');
  const { api, version } = await connect(connection, options, logger, context.fetch);

  const matches = createMatcher(options.match);
  const kinds = EXPORTED_KINDS.filter((kind) => options.only.includes(kind.export!.section));
  // Read one kind after another: an export is a one-off, and a large server is better read gently.
  const servers: unknown[] = [];
  for (const kind of kinds) servers.push(await kind.export!.read(api, matches));
  // Kinds no part exports are named whatever --only says: --only chooses among what can be exported.
  const unexported = await readUnexported(api, { matches, exportedSections: EXPORTED_KINDS.map((kind) => kind.export!.section) });
  // Secret values, in memory, only to say which end with a newline that apply would strip.
  const secretValues = options.only.includes('secrets') ? await readSecretValues(api) : undefined;
  logger.info({ event: 'export.read', kinds: kinds.map((kind) => kind.name) }, 'server state read');

  const scratch = new Scratch();
  try {
    // The credential policy rides on the context beside what every part reads (see credentialPolicy).
    const exportContext: ExportContext & CredentialPolicy = {
      matches,
      env,
      scratchFile: (name, content) => scratch.file(name, content),
      allowPlainCredentials: options.allowPlainCredentials ?? false,
    };
    const written = kinds.map((kind, index) => ({ kind, written: kind.export!.write(servers[index], exportContext) }));
    const assembled = assemble(written);
    const { args, warnings, secrets, counts: exportedCounts, scratchFiles, provide } = assembled;
    // The schema lines go in before the files are read back, so that the check reads them as apply will.
    const files = assembled.files.map(withSchemaLine);
    const counts: ExportCounts = { ...Object.fromEntries(EXPORTED_KINDS.map((kind) => [kind.countKey, 0])), ...exportedCounts };
    const exported: ExportedKind[] = kinds.map((kind, index) => ({ kind, current: kind.export!.current(servers[index]) }));

    const withNewline = secretValues ? endingWithNewline(secretValues, secrets.map((secret) => secret.name)) : [];
    warnings.push(...withNewline.map((name) => newlineWarning(name)), ...unexported);
    warnings.push(...verifyExport(files, args, exported, scratch, scratchFiles));
    const credentials = warnings.flatMap((w) => (w.credentials ? [{ subject: w.subject, ...w.credentials }] : []));
    files.push(withSchemaLine(renderProjectFile(args)));
    files.push({
      path: README_FILE,
      content: renderReadme({ files, secrets, args, secretsWithNewline: withNewline, credentials, provide }),
      summary: 'how to apply these files, and the secrets to provide',
    });

    files.push(...schemaFiles(files));

    const dir = resolve(options.to);
    warnings.push(...writeExport(dir, files, { force: options.force }));
    logger.info({ event: 'export.written', dir, files: files.length, ...counts }, `${files.length} files written to ${dir}`);
    return {
      dir,
      server: { url: connection.apiUrl, version },
      files: files.map(({ path, summary }) => ({ path, summary })),
      counts,
      args,
      warnings,
      requests: { reads: api.http.reads, writes: api.http.writes },
      credentialsLeftOut: credentials.filter((c) => !c.written).map(({ subject, paths }) => ({ subject, paths })),
    };
  } finally {
    scratch.close();
  }
}

/** A secret whose value ends with a newline: from a file, apply strips one unless --keep-trailing-newline. */
function newlineWarning(name: string): ExportWarning {
  return {
    subject: `secret "${name}"`,
    message:
      'its value ends with a newline (an older tool stored the whole file), which openem-config strips from a secret file: ' +
      'applied from a file without --keep-trailing-newline, it would change the value on this server; give that option (for every secret file of the run) ' +
      'with files that end with that newline, or accept the change',
  };
}
