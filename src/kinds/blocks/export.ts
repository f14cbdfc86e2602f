// Blocks as [blocks.<type>.<name>] tables of the limits manifest. Secret fields are written as
// `{ file = "block-secrets/<type>.<name>.<path>" }`: the export names the files to provide and
// never writes a secret value. Secret blocks go with the secrets kind (-s), and openem-config's
// own record is not configuration.
import type { JsonValue } from '../../config/types.js';
import { isObject } from '../../config/json.js';
import { tomlKey, tomlProblem, tomlString, tomlTableName, tomlValue } from '../../export/toml.js';
import { compareText, listNames, type ExportFile, type ExportWarning } from '../../export/types.js';
import { unwrap, type Api } from '../../prefect/client.js';
import { pages } from '../../prefect/paging.js';
import { STATE_BLOCK_TYPE } from '../../prefect/ownership.js';
import { defineExport } from '../../reconcile/kind.js';
import type { Matcher } from '../../config/glob.js';
import { SECRET_BLOCK_TYPE } from '../secrets/reconcile.js';
import type { BlockDocument, CurrentBlock } from './reconcile.js';
import { readTypes, secretFields } from './schema.js';
import { blockKey } from './spec.js';

export const BLOCK_SECRETS_DIR = 'block-secrets';

export interface ServerBlocks {
  /** Named documents of every type but secret and openem-config's own, with their values (in memory only). */
  documents: BlockDocument[];
  /** Secret field paths by type slug, from the newest schema of each type. */
  secretPaths: Map<string, string[]>;
  /** The `position` each field has in its type's newest schema, where the schema gives one. */
  fieldPositions?: Map<string, Map<string, number>>;
}

export interface BlocksExport {
  manifest: string[] | undefined;
  warnings: ExportWarning[];
  count: number;
  /** The secret files to provide: their paths, relative to the manifest. */
  secretFiles: string[];
  /** The same files with the server's values, for reading the export back; never written to the export. */
  scratchFiles: ExportFile[];
}

async function readServerBlocks(api: Api, matches: Matcher): Promise<ServerBlocks> {
  // Every type but secret (the secrets kind's) and openem-config's own record: the values of
  // secret blocks are not read here.
  const allTypes = await pages((offset, limit) => unwrap(api.client.POST('/block_types/filter', { body: { limit, offset } })));
  const slugs = allTypes.map((type) => type.slug).filter((slug) => slug !== SECRET_BLOCK_TYPE && slug !== STATE_BLOCK_TYPE);
  if (slugs.length === 0) return { documents: [], secretPaths: new Map() };
  const all = await pages((offset, limit) =>
    unwrap(
      api.client.POST('/block_documents/filter', {
        body: {
          block_types: { slug: { any_: slugs } },
          block_documents: { operator: 'and_', is_anonymous: { eq_: false } },
          include_secrets: true,
          sort: 'NAME_ASC',
          limit,
          offset,
        },
      }),
    ),
  );
  const documents = all.filter((document) => {
    const slug = document.block_type?.slug;
    return slug && document.name && slugs.includes(slug) && matches(document.name, blockKey(slug, document.name));
  });
  const types = await readTypes(api, [...new Set(documents.map((document) => document.block_type!.slug))]);
  return {
    documents,
    secretPaths: new Map([...types].map(([slug, info]) => [slug, secretFields(info.schema)])),
    fieldPositions: new Map([...types].map(([slug, info]) => [slug, positionsOf(info.schema.fields)])),
  };
}

export const blocksExport = defineExport({
  section: 'blocks',
  read: readServerBlocks,
  write(server: ServerBlocks) {
    const written = exportBlocks(server);
    const warnings = [...written.warnings];
    if (written.secretFiles.length > 0) {
      warnings.push({
        subject: 'blocks',
        message: `${written.secretFiles.length} secret field${written.secretFiles.length === 1 ? ' is' : 's are'} written as { file = ... } with no value; put each secret into its file beside limits.toml before applying: ${listNames(written.secretFiles)}`,
      });
    }
    return {
      files: [],
      manifest: written.manifest,
      warnings,
      count: written.count,
      scratchFiles: written.scratchFiles,
      provide: written.scratchFiles.map((file) => ({ path: file.path, what: file.summary })),
    };
  },
  current: (server): Map<string, CurrentBlock> => new Map(server.documents.map((document) => [blockKey(document.block_type!.slug, document.name!), { document }])),
});

/** Each property's `position` (Prefect's schemas carry it for the order of the UI's form). */
function positionsOf(fields: { [key: string]: unknown } | undefined): Map<string, number> {
  const properties = ((fields ?? {}) as { properties?: { [name: string]: { position?: unknown } } }).properties ?? {};
  return new Map(Object.entries(properties).flatMap(([name, property]) => (typeof property?.position === 'number' ? [[name, property.position] as const] : [])));
}

function safePart(part: string): string {
  const safe = part.replace(/[^A-Za-z0-9_-]+/g, '_');
  return safe === '' ? '_' : safe;
}

/** Whether a dotted path is secret: a `secret_fields` entry names it, or ends in `*` above it. */
function isSecretPath(path: string, secretPaths: readonly string[]): boolean {
  return secretPaths.some((secret) => secret === path || (secret.endsWith('.*') && path.startsWith(secret.slice(0, -1))));
}

export function exportBlocks(server: ServerBlocks): BlocksExport {
  const warnings: ExportWarning[] = [];
  const lines: string[] = [];
  const secretFiles: string[] = [];
  const scratchFiles: ExportFile[] = [];
  let count = 0;
  const sorted = [...server.documents].sort((a, b) => compareText(blockKey(a.block_type!.slug, a.name!), blockKey(b.block_type!.slug, b.name!)));
  for (const document of sorted) {
    const type = document.block_type!.slug;
    const name = document.name!;
    const key = blockKey(type, name);
    const secrets = server.secretPaths.get(type) ?? [];
    const references = document.block_document_references ?? {};
    const fields: string[] = [];
    let problem: string | undefined;
    const files: ExportFile[] = [];
    /** A value as TOML, secrets replaced by file placeholders. */
    const render = (value: JsonValue, path: string): string | undefined => {
      if (isSecretPath(path, secrets)) {
        if (typeof value !== 'string') {
          problem ??= `its secret field ${path} is not text, so it cannot come from a file`;
          return undefined;
        }
        // Type and name are slugs; a field path may hold any key of a mapping (a custom-webhook's
        // `secrets`), so every part is reduced to characters any file system takes.
        const file = `${BLOCK_SECRETS_DIR}/${type}.${name}.${path.split('.').map(safePart).join('.')}`;
        files.push({ path: file, content: value, summary: `secret field ${path} of block ${key}` });
        return `{ file = ${tomlString(file)} }`;
      }
      if (isObject(value) && secrets.some((secret) => secret.startsWith(`${path}.`))) {
        const parts: string[] = [];
        for (const [inner, item] of Object.entries(value)) {
          const text = render(item, `${path}.${inner}`);
          if (text !== undefined) parts.push(`${tomlKey(inner)} = ${text}`);
        }
        return parts.length === 0 ? '{}' : `{ ${parts.join(', ')} }`;
      }
      const tomlIssue = tomlProblem(value);
      if (tomlIssue) {
        problem ??= `field ${path} holds ${tomlIssue}`;
        return undefined;
      }
      return tomlValue(value);
    };
    // By the position the type's schema gives a field, then by name: two servers in the same state
    // export the same bytes, whatever order a document was written in or a database keeps keys in
    // (PostgreSQL's JSONB sorts them by length).
    const positions = server.fieldPositions?.get(type) ?? new Map<string, number>();
    const rank = (field: string) => positions.get(field) ?? Number.MAX_SAFE_INTEGER;
    const entries = Object.entries(document.data ?? {}).sort(([a], [b]) => rank(a) - rank(b) || compareText(a, b));
    for (const [field, value] of entries) {
      const target = (references[field] as { block_document?: { name?: string; block_type?: { slug?: string } } } | undefined)?.block_document;
      if (target?.name && target.block_type?.slug) {
        fields.push(`${tomlKey(field)} = { block = ${tomlString(blockKey(target.block_type.slug, target.name))} }`);
        continue;
      }
      // Prefect fills in a field's default when it is absent: a null says nothing the file must.
      if (value === null) continue;
      const text = render(value as JsonValue, field);
      if (text !== undefined) fields.push(`${tomlKey(field)} = ${text}`);
    }
    if (problem) {
      warnings.push({ subject: `block ${key}`, message: `not exported: ${problem}` });
      continue;
    }
    count += 1;
    lines.push('', `[${tomlTableName(['blocks', type, name])}]`, ...fields);
    for (const file of files) {
      secretFiles.push(file.path);
      scratchFiles.push(file);
    }
  }
  return { manifest: count > 0 ? lines : undefined, warnings, count, secretFiles, scratchFiles };
}
