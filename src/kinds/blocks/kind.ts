// Blocks of any type, from the limits manifest (-l): [blocks.<type>.<name>].
import type { ConfigIssue } from '../../errors.js';
import { defineKind } from '../../reconcile/kind.js';
import { blocksExport } from './export.js';
import { createBlocksKind } from './reconcile.js';
import { checkBlock, readTypes } from './schema.js';
import { blockKey, blocksManifest, loadBlocks, type DesiredBlock } from './spec.js';

export const blocks = defineKind({
  name: 'block',
  countKey: 'blocks',
  label: ['block', 'blocks'],
  since: '3.0.0',
  manifest: blocksManifest,
  load({ manifest: parts, env, options }, issues) {
    return { desired: loadBlocks(parts, { env, options }, issues), declared: parts.some((part) => part.entries.blocks !== undefined) };
  },
  key: (desired: DesiredBlock) => blockKey(desired.type, desired.name),
  reconcile: createBlocksKind,
  export: blocksExport,
  // A block of the secret type is the same document the secrets kind (-s) manages.
  aliases: (key) => (key.startsWith('secret/') ? [{ kind: 'secret', key: key.slice('secret/'.length) }] : []),
  // Each block's fields against its type's schema on the server; a type the server lacks is named.
  async checkAgainstServer(api, desired) {
    const types = await readTypes(api, desired.map((block) => block.type));
    const issues: ConfigIssue[] = [];
    for (const block of desired) {
      const info = types.get(block.type);
      if (!info) {
        issues.push({
          ...block.source,
          severity: 'error',
          message: `the server has no block type "${block.type}"; a Prefect integration registers it (for example \`prefect block register -m prefect_aws\` for aws-credentials and s3-bucket), or fix the type`,
        });
        continue;
      }
      issues.push(...checkBlock(block, info));
    }
    return issues;
  },
});
