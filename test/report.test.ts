// The text report: issue order, plan lines.
import { describe, expect, it } from 'vitest';
import { sortIssues } from '../src/report.js';

describe('sortIssues', () => {
  it('orders by file as the files first come up, then line and column; a whole-file issue first; ties keep their order', () => {
    const issues = [
      { file: 'b.yaml', line: 9, message: 'b9' },
      { file: 'a.toml', line: 3, column: 5, message: 'a3:5' },
      { file: 'b.yaml', line: 2, message: 'b2' },
      { file: 'a.toml', line: 3, column: 1, message: 'a3:1' },
      { file: 'b.yaml', message: 'b' },
      { file: 'b.yaml', line: 2, message: 'b2 again' },
    ];
    expect(sortIssues(issues).map((issue) => issue.message)).toEqual(['b', 'b2', 'b2 again', 'b9', 'a3:1', 'a3:5']);
  });
});
