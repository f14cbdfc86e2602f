// The README's option tables against the options each command really has (its --help): a flag
// added to a command and not to the README, or described for a command that lacks it, fails here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
const COMMANDS = ['apply', 'plan', 'validate', 'export', 'migrate', 'schemas'] as const;
type CommandName = (typeof COMMANDS)[number];

/** Long flags in a text: `--name`. */
function flags(text: string): Set<string> {
  return new Set([...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((match) => match[0]));
}

/** The README's flags per command: each "Options of ..." table names the commands it is for. */
function documented(): Map<CommandName, Set<string>> {
  const section = readme.slice(readme.indexOf('## Commands'), readme.indexOf('## Configuration reference'));
  const byCommand = new Map<CommandName, Set<string>>(COMMANDS.map((command) => [command, new Set<string>()]));
  // A heading line, then its table (or, for export's own options, one sentence naming them).
  const parts = section.split(/\n(?=Options of |`export` has its own options)/).slice(1);
  for (const part of parts) {
    const heading = part.slice(0, part.indexOf('\n'));
    const forCommands = heading.startsWith('`export` has')
      ? ['export']
      : heading.includes('every command')
        ? [...COMMANDS]
        : [...heading.slice(0, heading.indexOf(':')).matchAll(/`([a-z]+)`/g)].map((match) => match[1]);
    expect(forCommands.length, heading).toBeGreaterThan(0);
    const body = heading.startsWith('`export` has') ? heading : part.split('\n').filter((line) => line.startsWith('| `-')).map((line) => line.split(' | ')[0]).join('\n');
    for (const command of forCommands) for (const flag of flags(body)) byCommand.get(command as CommandName)?.add(flag);
  }
  return byCommand;
}

describe('README option tables', () => {
  const tables = documented();
  // --detailed-exitcode and --out are in the apply-and-plan table, marked "plan only"; --version only at the top.
  const notOn: Record<CommandName, string[]> = { apply: ['--detailed-exitcode', '--out', '--version'], plan: ['--version'], validate: ['--version'], export: ['--version'], migrate: [], schemas: [] };

  for (const command of COMMANDS) {
    it(`lists exactly the options of ${command} --help`, async () => {
      const help = await runCli([command, '--help']);
      // The option lines only: a description may name another command's option (`plan --out`).
      const real = flags(help.stdout.split('\n').filter((line) => /^\s+-/.test(line)).map((line) => line.trim().split(/\s{2,}/)[0]).join('\n'));
      const listed = new Set([...(tables.get(command) ?? [])].filter((flag) => !notOn[command].includes(flag)));
      expect([...real].filter((flag) => !listed.has(flag)), 'in --help, not in the README').toEqual([]);
      expect([...listed].filter((flag) => !real.has(flag)), 'in the README, not in --help').toEqual([]);
    });
  }

  it('has --version at the top level', async () => {
    expect(flags((await runCli(['--help'])).stdout).has('--version')).toBe(true);
  });
});
