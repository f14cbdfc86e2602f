// Prefect `secret` block documents: { value: "<file content>" }. The value is compared with what
// the server holds (read with include_secrets) and never leaves this module in a plan or a log.
import type { DesiredSecret } from '../../config/types.js';
import { unwrap, unwrapOptional, type Api } from '../../prefect/client.js';
import type { components } from '../../prefect/schema.js';
import type { Diff, Kind } from '../../reconcile/types.js';
import { createOrFind, foundMeanwhile } from '../../prefect/create.js';
import { pagesByName } from '../../prefect/paging.js';

type BlockDocument = components['schemas']['BlockDocument'];

export const SECRET_BLOCK_TYPE = 'secret';

/** The block type and schema new secret documents are created with, looked up at most once per run. */
interface SecretType {
  blockTypeId: string;
  blockSchemaId: string;
}

/**
 * Named secret block documents by name, in bulk. Their values only when `includeSecrets`: to
 * compare them with the files; a reference check needs to know only that the block exists.
 */
async function readByName(api: Api, names: readonly string[], includeSecrets: boolean): Promise<Map<string, BlockDocument>> {
  const documents = await pagesByName(names, (batch, offset, limit) =>
    unwrap(
      api.client.POST('/block_documents/filter', {
        body: {
          block_types: { slug: { any_: [SECRET_BLOCK_TYPE] } },
          block_documents: { operator: 'and_', name: { any_: batch }, is_anonymous: { eq_: false } },
          include_secrets: includeSecrets,
          sort: 'NAME_ASC',
          limit,
          offset,
        },
      }),
    ),
  );
  return new Map(documents.flatMap((document) => (document.name ? [[document.name, document] as const] : [])));
}

export function createSecretsKind(): Kind<DesiredSecret, BlockDocument> {
  let secretType: SecretType | undefined;

  async function lookUpType(api: Api): Promise<SecretType> {
    if (secretType) return secretType;
    const blockType = await unwrapOptional(
      api.client.GET('/block_types/slug/{slug}', { params: { path: { slug: SECRET_BLOCK_TYPE } } }),
    );
    if (!blockType) {
      throw new Error(
        `the server has no "${SECRET_BLOCK_TYPE}" block type; Prefect registers it at start-up unless PREFECT_SERVER_REGISTER_BLOCKS_ON_START is off`,
      );
    }
    const schemas = await unwrap(
      api.client.POST('/block_schemas/filter', {
        body: { block_schemas: { operator: 'and_', block_type_id: { any_: [blockType.id] } }, limit: 1, offset: 0 },
      }),
    );
    const schema = schemas[0];
    if (!schema) throw new Error(`the "${SECRET_BLOCK_TYPE}" block type has no schema on the server`);
    secretType = { blockTypeId: blockType.id, blockSchemaId: schema.id };
    return secretType;
  }

  const kind: Kind<DesiredSecret, BlockDocument> = {
    name: 'secret',
    key: (desired) => desired.name,

    async read(api, desired) {
      const found = await readByName(api, desired.map((d) => d.name), true);
      // The type and schema are needed only to create; looked up here, at plan time, so that a
      // server without the block type is reported before any write.
      if (desired.some((d) => !found.has(d.name))) await lookUpType(api);
      return found;
    },

    // Only whether the block exists: its value is not read.
    lookup: (api, names) => readByName(api, names, false),

    prune: {
      list: (api, owned) => readByName(api, owned, true),
      async remove(api, _name, document) {
        await unwrap(api.client.DELETE('/block_documents/{id}', { params: { path: { id: document.id } } }));
      },
    },

    diff(desired, current): Diff {
      if (!current) return { action: 'create', changes: [{ field: 'value', secret: true }] };
      const same = (current.data as { value?: unknown } | undefined)?.value === desired.value;
      return same ? { action: 'noop', changes: [] } : { action: 'update', changes: [{ field: 'value', secret: true }] };
    },

    async apply(api, item, desired, current) {
      let document = current;
      let found: object | undefined;
      if (item.action === 'create' && !document) {
        // Cached by read, which looked it up because this secret was missing.
        const type = await lookUpType(api);
        document = await createOrFind({
          path: '/block_documents/',
          what: 'document',
          create: () =>
            api.client.POST('/block_documents/', {
              body: {
                name: desired.name,
                block_type_id: type.blockTypeId,
                block_schema_id: type.blockSchemaId,
                data: { value: desired.value },
                is_anonymous: false,
              },
            }),
          find: () =>
            unwrapOptional(
              api.client.GET('/block_types/slug/{slug}/block_documents/name/{block_document_name}', {
                params: { path: { slug: SECRET_BLOCK_TYPE, block_document_name: desired.name }, query: { include_secrets: true } },
              }),
            ),
        });
        if (!document) return;
        // Created by someone else since we read: update that document where it differs.
        if (kind.diff(desired, document).action === 'noop') return foundMeanwhile(document, false);
        found = document;
      }
      if (!document) throw new Error(`secret ${desired.name} was planned as an update but is missing`);
      await unwrap(
        api.client.PATCH('/block_documents/{id}', {
          params: { path: { id: document.id } },
          body: { data: { value: desired.value }, merge_existing_data: false },
        }),
      );
      return found && foundMeanwhile(found, true);
    },
  };
  return kind;
}
