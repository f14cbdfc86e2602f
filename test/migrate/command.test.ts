// `openem-config migrate` on the command line: in place, --check, --stdout, the report and the
// exit codes; and `validate` of a migrated file, which says nothing about legacy forms.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { useTempDir } from '../config/temp.js';

const temp = useTempDir();
const corpus = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/migrate/${name}`, import.meta.url)), 'utf8');
let copies = 0;
/** A copy of a corpus file in a directory of its own, to be rewritten. */
const copy = (name: string, text = corpus(name)) => temp.write(`${++copies}/${name}`, text);

describe('openem-config migrate', () => {
  it('rewrites a file in place, a line per change, and finds nothing to do the second time', async () => {
    const file = copy('git-project.yaml');
    const first = await runCli(['migrate', file]);
    expect(first.code).toBe(EXIT.ok);
    expect(first.stdout.split('\n')).toEqual([
      `${file}:7: top-level version removed (Prefect 3 ignores it; each deployment has its own \`version:\`)`,
      `${file}:37: schedule -> schedules (one entry)`,
      `${file}:41: is_schedule_active removed (Prefect 3 ignores it; \`paused:\` and each schedule's \`active:\` say it)`,
      `${file}:54: schedule -> schedules (one entry)`,
      `${file}:58: is_paused removed (Prefect 3 ignores it; the key is \`paused:\`)`,
      `${file}:68: schedule: null removed (no schedule)`,
      `${file}: 6 changes written`,
      '',
    ]);
    expect(first.stderr).toBe('');
    expect(readFileSync(file, 'utf8')).toBe(corpus('expected/git-project.yaml'));

    const second = await runCli(['migrate', file]);
    expect(second).toMatchObject({ code: EXIT.ok, stdout: `${file}: no legacy form, nothing to rewrite\n`, stderr: '' });
    expect(readFileSync(file, 'utf8')).toBe(corpus('expected/git-project.yaml'));
  });

  it('with --check, changes nothing and exits 2 when a file would change, 0 when it is current', async () => {
    const legacy = copy('docker-anchors.yaml');
    const current = copy('current.yaml');
    const result = await runCli(['migrate', '--check', legacy, current]);
    expect(result.code).toBe(EXIT.changesPending);
    expect(result.stdout).toContain(`${legacy}:21: work_pool.type removed`);
    expect(result.stdout).toContain(`${legacy}: 6 changes to make; --check wrote nothing\n`);
    expect(result.stdout).toContain(`${current}: no legacy form, nothing to rewrite\n`);
    expect(readFileSync(legacy, 'utf8')).toBe(corpus('docker-anchors.yaml'));

    expect((await runCli(['migrate', '--check', current])).code).toBe(EXIT.ok);
    const migrated = copy('docker-anchors.yaml', corpus('expected/docker-anchors.yaml'));
    expect((await runCli(['migrate', '--check', migrated])).code).toBe(EXIT.ok);
  });

  it('with --stdout, writes the rewritten file to stdout and the changes to stderr, leaving the file', async () => {
    const file = copy('saved-schedules.yaml');
    const result = await runCli(['migrate', '--stdout', file]);
    expect(result.code).toBe(EXIT.ok);
    expect(result.stdout).toBe(corpus('expected/saved-schedules.yaml'));
    expect(result.stderr).toContain(`${file}:21: concurrency_limit with limit: null -> concurrency_limit: null (no limit)\n`);
    expect(readFileSync(file, 'utf8')).toBe(corpus('saved-schedules.yaml'));
  });

  it('writes what it can rewrite, and exits 3 with each form it left and what to write instead', async () => {
    const file = copy('partly-refused.yaml');
    const result = await runCli(['migrate', file]);
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stdout).toContain(`${file}: 2 changes written; 3 forms left to fix by hand\n`);
    expect(result.stderr.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^error: ${file}:6:5 › deployments\\[0\\]\\.is_paused: left as it is: .*write \`paused: true\` instead$`)),
      expect.stringContaining(`${file}:9:7 › deployments[0].schedules[0].catchup: left as it is: \`catchup: true\``),
      expect.stringContaining(`${file}:16:5 › deployments[1].work_queue_name: left as it is:`),
      '3 problems in the files; fix each as it says, then run migrate again.',
      '',
    ]);
    expect(readFileSync(file, 'utf8')).toBe(corpus('expected/partly-refused.yaml'));
    // --check says the same, and exits 3 too: a person has to act.
    expect((await runCli(['migrate', '--check', file])).code).toBe(EXIT.invalidInput);
  });

  it('says where a file does not parse (file:line:column), never quoting it, and exits 3', async () => {
    const file = copy('broken.yaml', 'deployments:\n  - name: a\n    schedule: {cron: "0 1 * * *"\n    token: hunter2-not-for-logs\n');
    const result = await runCli(['migrate', file]);
    expect(result.code).toBe(EXIT.invalidInput);
    expect(result.stderr).toMatch(new RegExp(`^error: ${file}:\\d+:\\d+: invalid YAML: `, 'm'));
    expect(result.all).not.toContain('hunter2');
    expect(readFileSync(file, 'utf8')).toContain('hunter2');
  });

  it('refuses files it cannot read, and options that do not go together', async () => {
    const missing = await runCli(['migrate', `${temp.dir}/nowhere.yaml`]);
    expect(missing.code).toBe(EXIT.invalidInput);
    expect(missing.stderr).toContain('deployments file not found');
    const file = copy('current.yaml');
    expect(await runCli(['migrate', '--check', '--stdout', file])).toMatchObject({ code: EXIT.invalidInput, stderr: expect.stringContaining('--check and --stdout do not go together') });
    expect(await runCli(['migrate', '--stdout', file, file])).toMatchObject({ code: EXIT.invalidInput, stderr: expect.stringContaining('--stdout writes one file') });
    expect(await runCli(['migrate'])).toMatchObject({ code: EXIT.invalidInput, stderr: expect.stringContaining("missing required argument 'file'") });
  });

  it('has --help with its options and exit codes', async () => {
    const help = await runCli(['migrate', '--help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toContain('Usage: openem-config migrate [options] <file...>');
    expect(help.stdout).toContain('--check');
    expect(help.stdout).toContain('--stdout');
    expect(help.stdout).toContain('2 with --check, a file would');
  });

  it('leaves a file that validate reads without a legacy warning, and that --strict accepts', async () => {
    const file = copy('git-project.yaml');
    const legacy = /is ignored|is converted/;
    const before = await runCli(['validate', '-d', file]);
    expect(before.stderr).toMatch(legacy);
    expect((await runCli(['validate', '--strict', '-d', file])).code).toBe(EXIT.invalidInput);
    expect((await runCli(['migrate', file])).code).toBe(EXIT.ok);
    const after = await runCli(['validate', '-d', file]);
    expect(after).toMatchObject({ code: EXIT.ok, stdout: expect.stringContaining('3 deployments') });
    // What is left is about the server (a pool, a secret, a schema not given here), not about the file's form.
    expect(after.stderr).not.toMatch(legacy);
    expect((await runCli(['validate', '--strict', '-d', file])).code).toBe(EXIT.ok);
  });
});
