// The limits manifest an export writes: the tables every kind declared there contributes, in the
// order of the kinds, under one header.
export const LIMITS_FILE = 'limits.toml';

export function renderLimitsFile(tables: ReadonlyArray<readonly string[]>): string {
  const lines = ['# Concurrency limits and work pools, exported by openem-config: a limits manifest (apply it with -l).'];
  for (const part of tables) lines.push(...part);
  return `${lines.join('\n')}\n`;
}
