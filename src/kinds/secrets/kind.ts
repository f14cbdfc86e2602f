// Secret blocks, one per file (-s NAME_FILE, --secrets-dir, --secret name=path).
import type { DesiredSecret } from '../../config/types.js';
import { defineKind } from '../../reconcile/kind.js';
import { secretsExport } from './export.js';
import { createSecretsKind } from './reconcile.js';
import { loadSecrets } from './spec.js';

export const secrets = defineKind({
  name: 'secret',
  countKey: 'secrets',
  label: ['secret', 'secrets'],
  since: '3.0.0',
  load({ options, env }, issues) {
    const desired = loadSecrets(
      { env, fileEnvNames: options.secrets, dirs: options.secretsDirs, pairs: options.secretPairs, keepTrailingNewline: options.keepTrailingNewline },
      issues,
    );
    return { desired, declared: options.secrets.length + options.secretsDirs.length + options.secretPairs.length > 0 };
  },
  key: (desired: DesiredSecret) => desired.name,
  reconcile: createSecretsKind,
  aliases: (name) => [{ kind: 'block', key: `secret/${name}` }],
  export: secretsExport,
});
