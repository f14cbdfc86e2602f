// Which Prefect a run needs: each kind names the oldest release it works with, and some features
// a newer one. Checked after connecting and before the first read of the kinds.
import { UnsupportedServerError } from '../errors.js';
import type { AnyKind, DesiredSet } from './kind.js';

/** `3.4.25` as numbers; a version this cannot read (a dev build) is not checked. */
function parse(version: string): number[] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match ? match.slice(1).map(Number) : undefined;
}

export function olderThan(version: string, minimum: string): boolean {
  const have = parse(version);
  const need = parse(minimum);
  if (!have || !need) return false;
  for (let i = 0; i < 3; i += 1) if (have[i]! !== need[i]!) return have[i]! < need[i]!;
  return false;
}

/** Throws naming every kind and feature the server is too old for. */
export function checkServerVersion(version: string, kinds: readonly AnyKind[], desired: DesiredSet): void {
  const problems: string[] = [];
  for (const kind of kinds) {
    if (olderThan(version, kind.since)) problems.push(`${kind.label[1]} need Prefect ${kind.since} or newer`);
    for (const { version: needed, feature } of kind.requires?.(desired.get(kind)) ?? []) {
      if (olderThan(version, needed)) problems.push(`${feature} needs Prefect ${needed} or newer`);
    }
  }
  if (problems.length > 0) {
    throw new UnsupportedServerError(`the server runs Prefect ${version}: ${problems.join('; ')}. Upgrade the server, or leave those out of the inputs; nothing was written`);
  }
}
