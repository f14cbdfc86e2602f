// PREFECT_API_URL: what is wrong with it, never quoting credentials it carries.
import { describe, expect, it } from 'vitest';
import { loadConnection } from '../../src/config/connection.js';
import { IssueList } from '../../src/errors.js';

function problems(url: string): string[] {
  const issues = new IssueList();
  loadConnection({ PREFECT_API_URL: url }, undefined, issues);
  return issues.items.map((issue) => issue.message);
}

describe('PREFECT_API_URL', () => {
  it.each(['http://u:S3CRET@:4200/api', 'http://u:S3CRET@h:0/api', 'ftp://u:S3CRET@h/api', 'http://u:S3CRET@h h/api', 'http://u:S3CRET@h/api'])(
    'refuses %s without quoting the password',
    (url) => {
      const found = problems(url);
      expect(found.length).toBeGreaterThan(0);
      expect(found.join('\n')).not.toContain('S3CRET');
    },
  );
});
