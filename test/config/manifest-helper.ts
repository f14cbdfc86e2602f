// The limits manifest as the tests read it: each kind's part, loaded through the registry.
import type { IssueList } from '../../src/errors.js';
import { tagLimits } from '../../src/kinds/tag-limits/kind.js';
import { workPools } from '../../src/kinds/work-pools/kind.js';
import { loadDesired } from '../../src/run.js';
import { noInputs } from '../../src/config/inputs.js';


export function loadLimits(files: string[], issues: IssueList) {
  const desired = loadDesired({ ...noInputs(), limits: files }, {}, issues);
  return {
    tagLimits: desired.get(tagLimits),
    declaresTagLimits: desired.declared(tagLimits),
    workPools: desired.get(workPools),
  };
}
