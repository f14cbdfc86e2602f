// [blocks.<type>.<name>] in limits manifests: values from files and the environment, references
// by name, and what is wrong at file, line and key, offline.
import { describe, expect, it } from 'vitest';
import { IssueList } from '../../../src/errors.js';
import { blocks } from '../../../src/kinds/blocks/kind.js';
import { checkReferencesOffline } from '../../../src/reconcile/references.js';
import { loadDesired } from '../../../src/run.js';
import { useTempDir } from '../../config/temp.js';
import { noInputs } from '../../../src/config/inputs.js';

const temp = useTempDir();

function load(text: string, env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const dir = `blocks-${Math.random().toString(36).slice(2)}`;
  for (const [name, content] of Object.entries(files)) temp.write(`${dir}/${name}`, content);
  const file = temp.write(`${dir}/limits.toml`, text);
  const issues = new IssueList();
  const desired = loadDesired({ ...noInputs(), limits: [file] }, env, issues);
  return { file, blocks: desired.get(blocks), desired, issues: issues.items.map((i) => [i.line, i.key, i.message]) };
}

describe('blocks in the limits manifest', () => {
  it('reads values, files (final newline dropped) and the environment at any depth, and hides what came from them', () => {
    const { blocks: loaded, issues } = load(
      '[blocks.custom-webhook.hook]\nname = "hook"\nurl = { env = "HOOK_URL" }\nsecrets = { token = { file = "token.txt" }, plain = "x" }\nheaders = ["a", "b"]\n',
      { HOOK_URL: 'https://example.org' },
      { 'token.txt': 'tok\n' },
    );
    expect(issues).toEqual([]);
    expect(loaded).toEqual([
      expect.objectContaining({
        type: 'custom-webhook',
        name: 'hook',
        data: { name: 'hook', url: 'https://example.org', secrets: { token: 'tok', plain: 'x' }, headers: ['a', 'b'] },
        references: {},
        hidden: ['url', 'secrets.token'],
      }),
    ]);
  });

  it('orders referenced blocks first, and refuses a circle', () => {
    const { blocks: loaded } = load('[blocks.s3-bucket.a]\nbucket_name = "a"\ncredentials = { block = "aws-credentials/z" }\n\n[blocks.aws-credentials.z]\nregion_name = "x"\n');
    expect(loaded.map((b) => `${b.type}/${b.name}`)).toEqual(['aws-credentials/z', 's3-bucket/a']);
    const circle = load('[blocks.x-type.a]\nother = { block = "x-type/b" }\n\n[blocks.x-type.b]\nother = { block = "x-type/a" }\n');
    expect(circle.issues).toEqual([[1, 'blocks.x-type.a', 'blocks refer to each other in a circle (x-type/a -> x-type/b -> x-type/a); Prefect cannot store that']]);
  });

  it('reports names, a missing file or variable, a bad reference, and the tool\'s own record, each at its line', () => {
    const { issues } = load(
      [
        '[blocks.Slack.x]',
        'a = 1',
        '[blocks.slack-webhook.Bad_Name]',
        'url = "u"',
        '[blocks.slack-webhook.ok]',
        'url = { file = "missing.txt" }',
        'other = { env = "UNSET_VARIABLE" }',
        'ref = { block = "not a key" }',
        'deep = { inner = { block = "a/b" } }',
        '[blocks.openem-config-state.ownership]',
        'owned = {}',
      ].join('\n'),
    );
    expect(issues).toEqual([
      [1, 'blocks.Slack', 'block type "Slack" is not a type slug (a-z, 0-9 and -), e.g. slack-webhook, s3-bucket'],
      [3, 'blocks.slack-webhook.Bad_Name', 'block name "Bad_Name" may only hold a-z, 0-9 and - (Prefect\'s rule for block names); rename it'],
      [6, 'blocks.slack-webhook.ok.url', expect.stringMatching(/missing\.txt: block value file/)],
      [7, 'blocks.slack-webhook.ok.other', 'the environment variable UNSET_VARIABLE is not set; set it, or give the value in the file'],
      [8, 'blocks.slack-webhook.ok.ref', '{ block = "not a key" } must name a block as "<type-slug>/<name>", e.g. { block = "aws-credentials/prod" }'],
      [9, 'blocks.slack-webhook.ok.deep.inner', '{ block = "..." } may only be the value of a block\'s own field, not nested deeper'],
      [10, 'blocks.openem-config-state', '"openem-config-state" is openem-config\'s own record of what it owns; it is not declared'],
    ]);
  });

  it('warns offline about a referenced block the inputs do not declare', () => {
    const { desired, file } = load('[blocks.s3-bucket.a]\nbucket_name = "a"\ncredentials = { block = "aws-credentials/elsewhere" }\n');
    expect(checkReferencesOffline(desired)).toEqual([
      { file, line: 3, key: 'blocks.s3-bucket.a.credentials', severity: 'warning', message: 'block aws-credentials/elsewhere is not declared here; it must exist on the server' },
    ]);
  });
});
