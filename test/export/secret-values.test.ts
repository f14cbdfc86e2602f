// Secret values are read once per connection, in bulk, for recognising them; never for writing.
import { describe, expect, it } from 'vitest';
import { endingWithNewline, readSecretValues } from '../../src/export/secret-values.js';
import { fakeApi, fakeSecretBlock, fakeSecretValues } from './factories.js';

describe('readSecretValues', () => {
  it('reads the named secret blocks with their values once per connection', async () => {
    const { api, sent } = fakeApi({ '/block_documents/filter': () => [fakeSecretBlock('a', 'x'), fakeSecretBlock('b', { k: 1 }), fakeSecretBlock('', 'anonymous', { name: null })] });
    const values = await readSecretValues(api);
    expect([...values]).toEqual([
      ['a', 'x'],
      ['b', { k: 1 }],
    ]);
    expect(await readSecretValues(api)).toBe(values);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body).toMatchObject({ include_secrets: true, block_types: { slug: { any_: ['secret'] } }, block_documents: { is_anonymous: { eq_: false } } });
  });

  it('finds exactly the secrets whose value ends with a newline', () => {
    const values = fakeSecretValues({ lf: 'a\n', crlf: 'b\r\n', inner: 'c\nd', none: 'e', json: { v: 'f\n' } });
    expect(endingWithNewline(values, ['crlf', 'inner', 'json', 'lf', 'missing', 'none'])).toEqual(['crlf', 'lf']);
  });
});
