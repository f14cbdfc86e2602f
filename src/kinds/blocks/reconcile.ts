// Block documents of any type. Read with their secrets (to compare), compared field by field as
// JSON, created when missing, and replaced as a whole when they differ (PATCH without merging, so a
// field taken out of the file leaves the block). A field that holds another block is compared by
// that block's type and name. Secret fields (the schema's `secret_fields`, and every value that
// came from a file or the environment) are never shown: only the fact that they change.
import type { JsonValue } from '../../config/types.js';
import { unwrap, unwrapOptional, type Api } from '../../prefect/client.js';
import { createOrFind, foundMeanwhile } from '../../prefect/create.js';
import { pagesByName } from '../../prefect/paging.js';
import type { components } from '../../prefect/schema.js';
import { jsonEqual } from '../../reconcile/json.js';
import type { Diff, FieldChange, Kind } from '../../reconcile/types.js';
import { isSecretField, readTypes, secretFields, type TypeInfo } from './schema.js';
import { blockKey, splitBlockKey, type DesiredBlock } from './spec.js';

export type BlockDocument = components['schemas']['BlockDocument'];

export interface CurrentBlock {
  document: BlockDocument;
}

/** Named documents of these types and names, by `<type>/<name>`; secret values only when asked for. */
export async function readBlocks(api: Api, keys: ReadonlyArray<{ type: string; name: string }>, includeSecrets: boolean): Promise<Map<string, CurrentBlock>> {
  const types = [...new Set(keys.map((key) => key.type))];
  const wanted = new Set(keys.map((key) => blockKey(key.type, key.name)));
  const found = new Map<string, CurrentBlock>();
  if (keys.length === 0) return found;
  // A name may be used by blocks of several types: the filter pages on until a short page.
  const documents = await pagesByName(
    keys.map((key) => key.name),
    (names, offset, limit) =>
      unwrap(
        api.client.POST('/block_documents/filter', {
          body: {
            block_types: { slug: { any_: types } },
            block_documents: { operator: 'and_', name: { any_: names }, is_anonymous: { eq_: false } },
            include_secrets: includeSecrets,
            sort: 'NAME_ASC',
            limit,
            offset,
          },
        }),
      ),
    { unique: false },
  );
  for (const document of documents) {
    const slug = document.block_type?.slug;
    if (!slug || !document.name) continue;
    const key = blockKey(slug, document.name);
    if (wanted.has(key)) found.set(key, { document });
  }
  return found;
}

/** The block a field of a document refers to, as `<type>/<name>`. */
function referenceOf(document: BlockDocument, field: string): string | undefined {
  const reference = document.block_document_references?.[field] as { block_document?: { name?: string; block_type?: { slug?: string } } } | undefined;
  const target = reference?.block_document;
  return target?.name && target.block_type?.slug ? blockKey(target.block_type.slug, target.name) : undefined;
}

/** The document's own values: the fields that refer to another block hold that block's data when read, and are left out. */
function ownData(document: BlockDocument): { [field: string]: unknown } {
  const references = new Set(Object.keys(document.block_document_references ?? {}));
  return Object.fromEntries(Object.entries(document.data ?? {}).filter(([field]) => !references.has(field)));
}

export function createBlocksKind(): Kind<DesiredBlock, CurrentBlock> {
  /** Filled by read: what each declared type is on the server. */
  let types = new Map<string, TypeInfo>();

  /**
   * Which fields are never shown: the secret fields of the newest schema and of the schema the
   * document is on (a field secret in an older version stays hidden), every field the newest
   * schema does not know (nothing says it is not secret), and what came from a file or the
   * environment. Without the server's schema (export's check reads none) every field is hidden.
   */
  const hiddenIn = (desired: DesiredBlock, current: CurrentBlock | undefined) => {
    const newest = types.get(desired.type)?.schema;
    const paths = [...secretFields(newest), ...secretFields(current?.document.block_schema ?? undefined), ...desired.hidden];
    const known = new Set(Object.keys(((newest?.fields ?? {}) as { properties?: object }).properties ?? {}));
    return (field: string) => !newest || !known.has(field) || isSecretField(field, paths);
  };

  function changesOf(desired: DesiredBlock, current: CurrentBlock | undefined): FieldChange[] {
    const hidden = hiddenIn(desired, current);
    const changes: FieldChange[] = [];
    const have = current ? ownData(current.document) : {};
    const fields = new Set([...Object.keys(desired.data), ...Object.keys(desired.references), ...(current ? Object.keys(current.document.data ?? {}) : [])]);
    for (const field of [...fields].sort()) {
      const reference = desired.references[field];
      if (reference) {
        const want = blockKey(reference.type, reference.name);
        const now = current ? referenceOf(current.document, field) : undefined;
        if (want !== now) changes.push(current ? { field, from: now ?? null, to: `{ block = "${want}" }` } : { field, to: `{ block = "${want}" }` });
        continue;
      }
      const want: JsonValue | undefined = desired.data[field];
      const present = Object.hasOwn(have, field) || (current !== undefined && referenceOf(current.document, field) !== undefined);
      // Prefect fills in a field's default when it is absent: a null on the server says no more.
      if (want === undefined && (!present || have[field] === null)) continue;
      if (present && want !== undefined && jsonEqual(want, have[field])) continue;
      if (hidden(field)) changes.push({ field, secret: true });
      else if (!current) changes.push({ field, to: want });
      else changes.push({ field, from: Object.hasOwn(have, field) ? have[field] : referenceOf(current.document, field) ?? null, to: want ?? null });
    }
    return changes;
  }

  async function dataFor(api: Api, desired: DesiredBlock): Promise<{ [field: string]: unknown }> {
    const data: { [field: string]: unknown } = { ...desired.data };
    for (const [field, reference] of Object.entries(desired.references)) {
      const target = await unwrapOptional(
        api.client.GET('/block_types/slug/{slug}/block_documents/name/{block_document_name}', {
          params: { path: { slug: reference.type, block_document_name: reference.name }, query: { include_secrets: false } },
        }),
      );
      if (!target) throw new Error(`field ${field} refers to block ${blockKey(reference.type, reference.name)}, which is not on the server`);
      data[field] = { $ref: { block_document_id: target.id } };
    }
    return data;
  }

  const kind: Kind<DesiredBlock, CurrentBlock> = {
    name: 'block',
    key: (desired) => blockKey(desired.type, desired.name),
    // Referenced blocks are declared first and must exist before the blocks that refer to them.
    sequential: true,

    async read(api, desired) {
      types = await readTypes(api, desired.map((d) => d.type));
      return readBlocks(api, desired, true);
    },

    lookup: (api, keys) => readBlocks(api, keys.map(splitBlockKey), false),

    prune: {
      list: (api, owned) => readBlocks(api, owned.map(splitBlockKey), false),
      async remove(api, _key, current) {
        await unwrap(api.client.DELETE('/block_documents/{id}', { params: { path: { id: current.document.id } } }));
      },
    },

    diff(desired, current): Diff {
      const changes = changesOf(desired, current);
      if (!current) return { action: 'create', changes };
      const newest = types.get(desired.type)?.schema;
      if (newest && current.document.block_schema_id !== newest.id) {
        changes.push({ field: 'block_schema', from: current.document.block_schema?.version ?? current.document.block_schema_id, to: newest.version ?? newest.id });
      }
      return { action: changes.length > 0 ? 'update' : 'noop', changes };
    },

    async apply(api, item, desired, current) {
      const info = types.get(desired.type) ?? (await readTypes(api, [desired.type])).get(desired.type);
      if (!info) throw new Error(`the server has no block type "${desired.type}"`);
      let document = current?.document;
      let found: object | undefined;
      if (item.action === 'create' && !document) {
        const data = await dataFor(api, desired);
        document = await createOrFind({
          path: '/block_documents/',
          what: 'block document',
          create: () =>
            api.client.POST('/block_documents/', {
              body: { name: desired.name, block_type_id: info.type.id, block_schema_id: info.schema.id, data, is_anonymous: false },
            }),
          find: () =>
            unwrapOptional(
              api.client.GET('/block_types/slug/{slug}/block_documents/name/{block_document_name}', {
                params: { path: { slug: desired.type, block_document_name: desired.name }, query: { include_secrets: true } },
              }),
            ),
        });
        // Created by someone else since we read: replace it where it differs.
        if (!document) return;
        if (kind.diff(desired, { document }).action === 'noop') return foundMeanwhile(document, false);
        found = document;
      }
      if (!document) throw new Error(`block ${blockKey(desired.type, desired.name)} was planned as an update but is missing`);
      await unwrap(
        api.client.PATCH('/block_documents/{id}', {
          params: { path: { id: document.id } },
          body: { data: await dataFor(api, desired), merge_existing_data: false, block_schema_id: info.schema.id },
        }),
      );
      return found && foundMeanwhile(found, true);
    },
  };
  return kind;
}
