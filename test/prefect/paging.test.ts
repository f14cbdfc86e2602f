// The one paged reader: 200 a page, until a short page; by name, 200 names a request.
import { describe, expect, it } from 'vitest';
import { pages, pagesByName } from '../../src/prefect/paging.js';

const rows = (count: number) => Array.from({ length: count }, (_, index) => index);

describe('pages', () => {
  it('asks for the next page only after a full one', async () => {
    const asked: number[] = [];
    const all = await pages(async (offset, limit) => {
      asked.push(offset);
      return rows(450).slice(offset, offset + limit);
    });
    expect(all).toHaveLength(450);
    expect(asked).toEqual([0, 200, 400]);
  });

  it('reads an empty last page when the rows fill whole pages', async () => {
    const asked: number[] = [];
    await pages(async (offset, limit) => {
      asked.push(offset);
      return rows(400).slice(offset, offset + limit);
    });
    expect(asked).toEqual([0, 200, 400]);
  });
});

describe('pagesByName', () => {
  const names = Array.from({ length: 450 }, (_, index) => `n${index}`);

  it('sends unique names 200 a request, and stops at a full page of a full batch', async () => {
    const asked: Array<[number, number]> = [];
    const all = await pagesByName([...names, 'n1'], async (batch, offset, limit) => {
      asked.push([batch.length, offset]);
      return batch.slice(offset, offset + limit);
    });
    expect(all).toHaveLength(450);
    expect(asked).toEqual([
      [200, 0],
      [200, 0],
      [50, 0],
    ]);
  });

  it('pages on when a name may match several rows', async () => {
    const asked: Array<[number, number]> = [];
    const all = await pagesByName(
      names.slice(0, 200),
      async (batch, offset, limit) => {
        asked.push([batch.length, offset]);
        // Every name matches two rows (two flows with a deployment of that name).
        return batch.flatMap((name) => [`a/${name}`, `b/${name}`]).slice(offset, offset + limit);
      },
      { unique: false },
    );
    expect(all).toHaveLength(400);
    expect(asked).toEqual([
      [200, 0],
      [200, 200],
      [200, 400],
    ]);
  });
});
