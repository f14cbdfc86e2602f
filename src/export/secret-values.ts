// The values of the server's secret blocks, for the export to recognise them (a resolved secret in
// a deployment, a value whose final newline apply would strip) and never to write them. They stay
// in memory: no file, log line, warning or report holds one.
import type { JsonValue } from '../config/types.js';
import { unwrap, type Api } from '../prefect/client.js';
import { pages } from '../prefect/paging.js';

/** The secret blocks' values by block name (named documents only). */
export type SecretValues = ReadonlyMap<string, JsonValue>;

const SECRET_BLOCK_TYPE = 'secret';

/** One read per connection: the deployments part and the secrets' newline check share it. */
const read = new WeakMap<Api, Promise<SecretValues>>();

export function readSecretValues(api: Api): Promise<SecretValues> {
  let values = read.get(api);
  if (!values) {
    values = readAll(api);
    read.set(api, values);
  }
  return values;
}

async function readAll(api: Api): Promise<SecretValues> {
  const documents = await pages((offset, limit) =>
    unwrap(
      api.client.POST('/block_documents/filter', {
        body: {
          block_types: { slug: { any_: [SECRET_BLOCK_TYPE] } },
          block_documents: { operator: 'and_', is_anonymous: { eq_: false } },
          include_secrets: true,
          sort: 'NAME_ASC',
          limit,
          offset,
        },
      }),
    ),
  );
  const values = new Map<string, JsonValue>();
  for (const document of documents) {
    const data = document.data as { value?: JsonValue } | undefined;
    if (document.name && data?.value !== undefined) values.set(document.name, data.value);
  }
  return values;
}

/** The names of the secrets whose value ends with a newline, which apply strips from a file by default. */
export function endingWithNewline(values: SecretValues, names: readonly string[]): string[] {
  return names.filter((name) => {
    const value = values.get(name);
    return typeof value === 'string' && value.endsWith('\n');
  });
}
