// Secret blocks are listed, their values never written: the export says which blocks exist and how
// to give each from a file (`-s NAME_FILE`), so the operator knows what to provide. Blocks of other
// types are exported by the blocks kind; openem-config's own ownership record is not configuration, and apply writes
// it on the target itself.
import { secretNameFromEnv } from './spec.js';
import { SECRET_BLOCK_TYPE } from './reconcile.js';
import { STATE_BLOCK_TYPE } from '../../prefect/ownership.js';
import type { Matcher } from '../../config/glob.js';
import { compareText, type ExportWarning, type SecretEntry } from '../../export/types.js';
import { unwrap } from '../../prefect/client.js';
import { pages } from '../../prefect/paging.js';
import { defineExport } from '../../reconcile/kind.js';
import { secretPath } from '../../export/readme.js';

/** A named (not anonymous) block document: only its type and name are read, never its data. */
export interface ServerBlock {
  type: string;
  name: string;
}

export const secretsExport = defineExport({
  section: 'secrets',
  countNote: 'names only',
  async read(api): Promise<ServerBlock[]> {
    const documents = await pages((offset, limit) =>
      unwrap(
        api.client.POST('/block_documents/filter', {
          body: { block_documents: { operator: 'and_', is_anonymous: { eq_: false } }, include_secrets: false, sort: 'NAME_ASC', limit, offset },
        }),
      ),
    );
    return documents
      .filter((document) => document.name)
      .map((document) => ({ type: document.block_type?.slug ?? document.block_type_name ?? 'unknown', name: document.name ?? '' }));
  },
  write(blocks, { matches }) {
    const { secrets, warnings } = exportSecrets(blocks, matches);
    return {
      files: [],
      warnings,
      count: secrets.length,
      secrets,
      args: {
        secretEnvNames: secrets.flatMap((secret) => (secret.envName ? [secret.envName] : [])),
        secretPairs: secrets.filter((secret) => !secret.envName).map((secret) => `${secret.name}=${secretPath(secret.name)}`),
      },
    };
  },
  // No file declares a secret's value, so there is nothing to read back and compare.
  current: () => new Map(),
});

export interface SecretsExport {
  secrets: SecretEntry[];
  warnings: ExportWarning[];
}

/** A name shells accept in `export NAME=...`. */
const SHELL_NAME = /^[A-Z_][A-Z0-9_]*$/;

export function exportSecrets(blocks: readonly ServerBlock[], matches: Matcher): SecretsExport {
  const selected = blocks.filter((block) => block.type !== STATE_BLOCK_TYPE && matches(block.name)).sort((a, b) => compareText(a.type, b.type) || compareText(a.name, b.name));
  const secrets = selected.filter((block) => block.type === SECRET_BLOCK_TYPE).map((block) => ({ name: block.name, envName: secretEnvName(block.name) }));
  // Blocks of other types are the blocks kind's ([blocks.<type>.<name>] in the limits manifest).
  const warnings: ExportWarning[] = [];
  return { secrets, warnings };
}

/** The `-s` name that gives block `name`, or undefined when none does (then `--secret name=PATH`). */
export function secretEnvName(name: string): string | undefined {
  const envName = `${name.toUpperCase().replaceAll('-', '_')}_FILE`;
  return SHELL_NAME.test(envName) && secretNameFromEnv(envName) === name ? envName : undefined;
}
