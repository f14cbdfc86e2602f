// Which objects this tool owns, for the kinds Prefect gives no tags (secret blocks, tag limits,
// work pools, deployments): a block document of the tool's own block type, `openem-config-state`,
// named `ownership`, holding `{ owned: { <kind>: [keys...] } }`. Variables carry a tag instead.
// The record lives on the server, so it survives containers and machines, and it is visible in
// the UI under Blocks.
import { unwrap, unwrapOptional, type Api } from './client.js';

export const STATE_BLOCK_TYPE = 'openem-config-state';
export const STATE_DOCUMENT = 'ownership';

export type OwnershipRecord = Record<string, string[]>;

export interface Ownership {
  record: OwnershipRecord;
  /** Present when the record exists on the server. */
  documentId?: string;
}

export async function readOwnership(api: Api): Promise<Ownership> {
  const document = await unwrapOptional(
    api.client.GET('/block_types/slug/{slug}/block_documents/name/{block_document_name}', {
      params: { path: { slug: STATE_BLOCK_TYPE, block_document_name: STATE_DOCUMENT }, query: { include_secrets: true } },
    }),
  );
  if (!document) return { record: {} };
  const owned = (document.data as { owned?: unknown } | undefined)?.owned;
  const record: OwnershipRecord = {};
  if (owned && typeof owned === 'object') {
    for (const [kind, keys] of Object.entries(owned)) {
      if (Array.isArray(keys)) record[kind] = keys.filter((key): key is string => typeof key === 'string');
    }
  }
  return { record, documentId: document.id };
}

/** Sorted, without duplicates and empty kinds, so equal records compare equal. */
export function normalize(record: OwnershipRecord): OwnershipRecord {
  const out: OwnershipRecord = {};
  for (const kind of Object.keys(record).sort()) {
    const keys = [...new Set(record[kind])].sort();
    if (keys.length > 0) out[kind] = keys;
  }
  return out;
}

export function sameRecord(a: OwnershipRecord, b: OwnershipRecord): boolean {
  return JSON.stringify(normalize(a)) === JSON.stringify(normalize(b));
}

async function ensureBlockType(api: Api): Promise<{ typeId: string; schemaId: string }> {
  let type = await unwrapOptional(api.client.GET('/block_types/slug/{slug}', { params: { path: { slug: STATE_BLOCK_TYPE } } }));
  if (!type) {
    const created = await api.client.POST('/block_types/', {
      body: {
        name: 'openem-config state',
        slug: STATE_BLOCK_TYPE,
        description: 'What openem-config owns on this server, so that --prune deletes only its own objects. Managed by openem-config; do not edit.',
      },
    });
    // Another run created it meanwhile: use that one.
    type = created.response.status === 409 ? await unwrap(api.client.GET('/block_types/slug/{slug}', { params: { path: { slug: STATE_BLOCK_TYPE } } })) : await unwrap(created);
  }
  const schemas = await unwrap(
    api.client.POST('/block_schemas/filter', { body: { block_schemas: { operator: 'and_', block_type_id: { any_: [type.id] } }, limit: 1, offset: 0 } }),
  );
  let schema = schemas[0];
  if (!schema) {
    // Idempotent on the server: the same fields answer 200 with the existing schema.
    schema = await unwrap(
      api.client.POST('/block_schemas/', {
        body: {
          block_type_id: type.id,
          capabilities: [],
          fields: {
            title: 'openem-config state',
            type: 'object',
            properties: { owned: { title: 'Owned', type: 'object', description: 'Keys of the owned objects, by kind.' } },
            required: ['owned'],
            block_type_slug: STATE_BLOCK_TYPE,
            secret_fields: [],
            block_schema_references: {},
          },
        },
      }),
    );
  }
  return { typeId: type.id, schemaId: schema.id };
}

export async function writeOwnership(api: Api, current: Ownership, record: OwnershipRecord): Promise<void> {
  const data = { owned: normalize(record) };
  if (current.documentId) {
    await unwrap(
      api.client.PATCH('/block_documents/{id}', { params: { path: { id: current.documentId } }, body: { data, merge_existing_data: false } }),
    );
    return;
  }
  const { typeId, schemaId } = await ensureBlockType(api);
  const created = await api.client.POST('/block_documents/', {
    body: { name: STATE_DOCUMENT, block_type_id: typeId, block_schema_id: schemaId, data, is_anonymous: false },
  });
  if (created.response.status !== 409) {
    await unwrap(created);
    return;
  }
  // A concurrent run wrote a record first: merge ours into it.
  const theirs = await readOwnership(api);
  const merged: OwnershipRecord = { ...theirs.record };
  for (const [kind, keys] of Object.entries(record)) merged[kind] = [...(merged[kind] ?? []), ...keys];
  await writeOwnership(api, theirs, merged);
}
