import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { preparePythonReader } from '../../src/python/syntax.js';
import { analyzeEntrypoint, analyzeFlowSource, type FlowInfo, type FlowProblem } from '../../src/python/flow.js';
import type { JsonValue } from '../../src/config/types.js';
import { IssueList } from '../../src/errors.js';
import { useTempDir } from '../config/temp.js';

const flowsDir = fileURLToPath(new URL('../fixtures/flows/', import.meta.url));
const source = { file: 'prefect.yaml', line: 7, key: 'deployments.0.entrypoint' };
const temp = useTempDir();
beforeAll(preparePythonReader);

function flow(code: string, functionName = 'f'): FlowInfo {
  const result = analyzeFlowSource(code, functionName);
  if ('problem' in result) throw new Error(`unexpected problem: ${result.problem}`);
  return result;
}

function problem(code: string, functionName = 'f'): FlowProblem {
  const result = analyzeFlowSource(code, functionName);
  if (!('problem' in result)) throw new Error(`expected a problem, got flow ${result.flowName}`);
  return result;
}

function properties(code: string, functionName = 'f'): { [key: string]: JsonValue } {
  return flow(code, functionName).parameterSchema.properties as { [key: string]: JsonValue };
}

function entrypoint(entry: string, dir = flowsDir) {
  const issues = new IssueList();
  const info = analyzeEntrypoint(dir, entry, source, issues);
  return { info, issues: issues.items };
}

// What Prefect 3.7.2 derives for the fixture flows (see test/real/python-flow.test.ts for the live comparison).
describe('the archiver fixture flows', () => {
  it('create_test_dataset_flow: explicit name, a required `str | None`, docstring descriptions', () => {
    const { info, issues } = entrypoint('./archiver/flows/mock_flows.py:create_test_dataset_flow');
    expect(issues).toEqual([]);
    expect(info?.flowName).toBe('create_test_dataset');
    expect(info?.line).toBe(43);
    expect(info?.parameterSchema).toEqual({
      title: 'Parameters',
      type: 'object',
      properties: {
        dataset_id: {
          anyOf: [{ type: 'string' }, { type: 'null' }],
          description: 'Id of the new dataset; one is generated when None.',
          position: 0,
          title: 'dataset_id',
        },
        file_size_MB: { default: 10, description: 'Size of each file, in MB.', position: 1, title: 'file_size_MB', type: 'integer' },
        num_files: { default: 10, description: 'How many files to write.', position: 2, title: 'num_files', type: 'integer' },
        datablock_size_MB: {
          default: 20,
          description: 'Size of the datablocks the dataset is\nsplit into when it is archived.',
          position: 3,
          title: 'datablock_size_MB',
          type: 'integer',
        },
      },
      required: ['dataset_id'],
    });
  });

  it("end_to_end_test_flow: name in single quotes, async, a nested def of another flow's name", () => {
    const { info, issues } = entrypoint('archiver/flows/mock_flows.py:end_to_end_test_flow');
    expect(issues).toEqual([]);
    expect(info?.flowName).toBe('end_to_end_test_flow');
    expect(info?.description).toBe('Creates a dataset, archives it and retrieves it again.');
    expect(info?.parameterSchema).toEqual({
      title: 'Parameters',
      type: 'object',
      properties: {
        file_size_MB: { default: 100, position: 0, title: 'file_size_MB', type: 'integer' },
        num_files: { default: 10, position: 1, title: 'num_files', type: 'integer' },
        orig_datablock_size_MB: { default: 200, position: 2, title: 'orig_datablock_size_MB', type: 'integer' },
      },
    });
  });

  it('archive_datasets_flow: UUID and `List[str] | None = None`', () => {
    const { info, issues } = entrypoint('archiver/flows/archive_datasets_flow.py:archive_datasets_flow');
    expect(issues).toEqual([]);
    expect(info?.flowName).toBe('archive_datasetlist');
    expect(info?.parameterSchema).toEqual({
      title: 'Parameters',
      type: 'object',
      properties: {
        job_id: { description: 'The SciCat job that asked for the archival.', format: 'uuid', position: 0, title: 'job_id', type: 'string' },
        dataset_ids: {
          anyOf: [{ items: { type: 'string' }, type: 'array' }, { type: 'null' }],
          default: null,
          description: 'The datasets to archive; all datasets of the job when None.',
          position: 1,
          title: 'dataset_ids',
        },
      },
      required: ['job_id'],
    });
  });

  it('retrieve_datasets_flow: async def, a required UUID', () => {
    const { info, issues } = entrypoint('archiver/flows/retrieve_datasets_flow.py:retrieve_datasets_flow');
    expect(issues).toEqual([]);
    expect(info).toEqual({
      flowName: 'retrieve_datasetlist',
      functionName: 'retrieve_datasets_flow',
      line: 29,
      description: 'Retrieves every dataset of a retrieve job.',
      version: expect.stringMatching(/^[0-9a-f]{32}$/),
      takesAnyParameter: false,
      warnings: [],
      parameterSchema: {
        title: 'Parameters',
        type: 'object',
        properties: { job_id: { format: 'uuid', position: 0, title: 'job_id', type: 'string' } },
        required: ['job_id'],
      },
    });
  });

  it('writes the schema keys in the order pydantic does', () => {
    const { info } = entrypoint('archiver/flows/archive_datasets_flow.py:archive_datasets_flow');
    expect(Object.keys(info?.parameterSchema ?? {})).toEqual(['title', 'type', 'properties', 'required']);
    const datasetIds = (info?.parameterSchema.properties as { [key: string]: { [key: string]: JsonValue } }).dataset_ids ?? {};
    expect(Object.keys(datasetIds)).toEqual(['anyOf', 'default', 'description', 'position', 'title']);
  });

  it('gives the default names of @flow, @flow() and @prefect.flow', () => {
    expect(entrypoint('archiver/flows/mock_flows.py:cleanup_test_datasets').info?.flowName).toBe('cleanup-test-datasets');
    expect(entrypoint('archiver/flows/mock_flows.py:check_scratch_space').info?.flowName).toBe('check-scratch-space');
    expect(entrypoint('archiver/flows/mock_flows.py:sleep_flow').info?.flowName).toBe('mock-sleep');
  });
});

describe('analyzeFlowSource: finding the flow', () => {
  it('reads a decorator spread over lines, with strings, comments and brackets in its arguments', () => {
    const info = flow(`
from prefect import flow

@flow(
    name="archive, (really)",  # a comment with a ) and a "quote"
    flow_run_name=f"run-{'x'}-{{literal}}",
    retries=[1, (2, 3)],
    description="""Triple
quoted""",
)
def f(): pass
`);
    expect(info.flowName).toBe('archive, (really)');
    expect(info.description).toBe('Triple\nquoted');
    expect(info.line).toBe(11);
  });

  it('finds an async def and reports the line of the def', () => {
    const info = flow('from prefect import flow\n\n@flow(name="a")\nasync def f(x: int = 1):\n    return x\n');
    expect(info).toMatchObject({ flowName: 'a', functionName: 'f', line: 4 });
  });

  it("replaces _ by - for Prefect's default name", () => {
    expect(flow('@flow\ndef my_long_flow_name(): pass\n', 'my_long_flow_name').flowName).toBe('my-long-flow-name');
    expect(flow('@flow()\ndef a_b(): pass\n', 'a_b').flowName).toBe('a-b');
    expect(flow('import prefect\n@prefect.flow\ndef a_b(): pass\n', 'a_b').flowName).toBe('a-b');
    expect(flow('@flow(name=None)\ndef a_b(): pass\n', 'a_b').flowName).toBe('a-b');
    expect(flow('@flow(name="")\ndef a_b(): pass\n', 'a_b').flowName).toBe('a-b');
  });

  it('accepts the flow decorator under an import alias', () => {
    expect(flow('from prefect import flow as prefect_flow\n@prefect_flow(name="x")\ndef f(): pass\n').flowName).toBe('x');
    expect(flow('import prefect.flows\n@prefect.flows.flow\ndef f(): pass\n').flowName).toBe('f');
  });

  it('takes the name from a module constant assigned a literal', () => {
    expect(flow('FLOW = "from-a-constant"\n@flow(name=FLOW)\ndef f(): pass\n').flowName).toBe('from-a-constant');
  });

  it('matches only top-level functions: not nested ones, methods or text in strings', () => {
    expect(problem('def outer():\n    @flow\n    def f(): pass\n').problem).toMatch(/no top-level function `f`/);
    expect(problem('class A:\n    @flow\n    def f(self): pass\n').problem).toMatch(/no top-level function `f`/);
    expect(problem('x = """\n@flow\ndef f(a, b=1): pass\n"""\n').problem).toMatch(/no top-level function `f`/);
    expect(problem('# @flow\n# def f(): pass\n').problem).toMatch(/no top-level function `f`/);
  });

  it('lists the flows a file does define when the function is missing', () => {
    expect(problem('@flow\ndef a(): pass\n@flow()\ndef b(): pass\ndef c(): pass\n', 'missing').problem).toContain('its flow functions are: a, b');
  });

  it('ignores a commented-out decorator', () => {
    const result = problem('from prefect import flow, task\n# @flow(name="old")\n@task\ndef f(): pass\n');
    expect(result).toEqual({ problem: expect.stringContaining('is not decorated with @flow'), line: 4 });
  });

  it('is not fooled by "def f(" inside strings or a nested def of the same name', () => {
    const info = flow(`
EXAMPLE = "def f(a, b): pass"
@flow(name="real")
def f(x: int = 1):
    s = 'def f(y): pass'
    def f(z): pass
`);
    expect(info.flowName).toBe('real');
    expect(Object.keys(info.parameterSchema.properties as object)).toEqual(['x']);
  });

  it('reads an f-string without a replacement field as the string it spells', () => {
    expect(flow('@flow(name=f"x-{{literal}}-{{{{two}}}}")\ndef f(): pass\n').flowName).toBe('x-{literal}-{{two}}');
    expect(flow('@flow(name=f"nightly", description=F"Runs nightly")\ndef f(prefix: str = rf"run-\\d"): pass\n')).toMatchObject({ flowName: 'nightly', description: 'Runs nightly' });
    expect(flow('@flow\ndef f():\n    f"""Not a docstring, though it has no field."""\n').description).toBeUndefined();
  });

  it('uses the last definition, as Python does', () => {
    expect(flow('@flow(name="first")\ndef f(): pass\n\n@flow(name="second")\ndef f(): pass\n').flowName).toBe('second');
  });

  it('refuses a name it cannot read and says to set flow_name', () => {
    const variable = problem('import os\n@flow(name=os.environ["NAME"])\ndef f(): pass\n');
    expect(variable).toEqual({ problem: expect.stringContaining('set `flow_name` in the deployment'), line: 3 });
    expect(variable.problem).toContain('name=os.environ["NAME"]');
    expect(problem('@flow(name=f"x-{1}")\ndef f(): pass\n').problem).toContain('flow_name');
    expect(problem('@flow(name=f"{{literal}}-{x}")\ndef f(): pass\n').problem).toContain('flow_name');
    expect(problem('@flow(name=t"template")\ndef f(): pass\n').problem).toContain('flow_name');
    expect(problem('@flow(**OPTIONS)\ndef f(): pass\n').problem).toContain('flow_name');
    expect(problem('@flow(name=3)\ndef f(): pass\n').problem).toContain('not a string literal');
  });

  it("takes the deployment's flow_name for a name only the running code knows", () => {
    const code = 'import os\n@flow(name=os.environ["NAME"], description="D")\ndef f(): pass\n';
    expect(analyzeFlowSource(code, 'f', { flowName: 'declared' })).toMatchObject({ flowName: 'declared', description: 'D' });
    expect(analyzeFlowSource('@flow(**OPTIONS)\ndef f(): pass\n', 'f', { flowName: 'declared' })).toMatchObject({ flowName: 'declared' });
    // A literal name is read, not replaced: the deployments loader compares it with flow_name.
    expect(analyzeFlowSource('@flow(name="literal")\ndef f(): pass\n', 'f', { flowName: 'declared' })).toMatchObject({ flowName: 'literal' });
  });

  it('refuses names Prefect refuses', () => {
    expect(problem('@flow(name="a/b")\ndef f(): pass\n').problem).toContain('flow name "a/b" holds `/`');
    expect(problem('@flow(name="a\\nb")\ndef f(): pass\n').problem).toContain('flow name "a\\nb" holds the control character U+000A');
  });

  it('reads sources with CRLF line endings, tabs, a BOM and backslash continuations', () => {
    const info = flow('\uFEFFfrom prefect import flow\r\n@flow(name="crlf")\r\ndef f(a: int = \\\r\n\t\t1, b: str = "x"):\r\n\t"""Doc.\r\n\r\n\tArgs:\r\n\t\ta: The a.\r\n\t"""\r\n');
    expect(info.flowName).toBe('crlf');
    // Python expands tabs to 8 columns before dedenting.
    expect(info.description).toBe('Doc.\n\nArgs:\n        a: The a.');
    expect(properties('\uFEFF@flow\r\ndef f(a: int = \\\r\n 1): pass\r\n')).toEqual({ a: { default: 1, position: 0, title: 'a', type: 'integer' } });
  });

  it('reports broken Python with the lines the parser could not read', () => {
    expect(problem('@flow\ndef f(a: int = (1,\n')).toEqual({ problem: expect.stringContaining('the file is not valid Python: lines 1-2 (`@flow`) cannot be read'), line: 1 });
    expect(problem('@flow\ndef f(a="unterminated):\n    pass\n')).toEqual({ problem: expect.stringContaining('line 2 (`"`) cannot be read'), line: 2 });
    expect(problem('x = [1, 2)\n').problem).toContain('line 1 (`x = [1, 2)`) cannot be read; Prefect could not import it either');
    expect(problem('@flow\ndef f(a=1,\n      b): pass\n')).toEqual({ problem: expect.stringContaining('`b` has no default but follows one that has'), line: 3 });
  });

  it('gives the description and version Prefect would give the flow', () => {
    expect(flow('@flow(description="Given", version="1.0")\ndef f():\n    """Docstring."""\n')).toMatchObject({ description: 'Given', version: '1.0' });
    expect(flow("@flow\ndef f():\n    '''\n    Indented\n      docstring.\n    '''\n").description).toBe('Indented\n  docstring.');
    expect(flow('@flow\ndef f(): pass\n').description).toBeUndefined();
    expect(flow('@flow\ndef f():\n    f"not a {docstring}"\n').description).toBeUndefined();
    // Prefect's default version is the MD5 of the flow file.
    expect(flow('@flow\ndef f(): pass\n').version).toBe('f890dddf654e5bd1a445b23c3b7aab64');
  });
});

describe('analyzeFlowSource: the parameter schema', () => {
  it('maps scalars, UUID and dates', () => {
    expect(
      properties(`
from uuid import UUID
import datetime
@flow
def f(a: str, b: int = 1, c: float = 1.5, d: bool = False, e: UUID = None, g: datetime.datetime = None, h=None): pass
`),
    ).toEqual({
      a: { position: 0, title: 'a', type: 'string' },
      b: { default: 1, position: 1, title: 'b', type: 'integer' },
      c: { default: 1.5, position: 2, title: 'c', type: 'number' },
      d: { default: false, position: 3, title: 'd', type: 'boolean' },
      e: { default: null, format: 'uuid', position: 4, title: 'e', type: 'string' },
      g: { default: null, format: 'date-time', position: 5, title: 'g', type: 'string' },
      h: { default: null, position: 6, title: 'h' },
    });
  });

  it('maps Optional, unions and PEP 604 with null last', () => {
    expect(
      properties(`
from typing import Dict, List, Optional, Union
@flow
def f(a: Optional[List[str]] = None, b: None | int = None, c: Union[int, str, None] = 1, d: Dict[str, int] | None = None, e: list[str | None] = []): pass
`),
    ).toEqual({
      a: { anyOf: [{ items: { type: 'string' }, type: 'array' }, { type: 'null' }], default: null, position: 0, title: 'a' },
      b: { anyOf: [{ type: 'integer' }, { type: 'null' }], default: null, position: 1, title: 'b' },
      c: { anyOf: [{ type: 'integer' }, { type: 'string' }, { type: 'null' }], default: 1, position: 2, title: 'c' },
      d: { anyOf: [{ additionalProperties: { type: 'integer' }, type: 'object' }, { type: 'null' }], default: null, position: 3, title: 'd' },
      e: { default: [], items: { anyOf: [{ type: 'string' }, { type: 'null' }] }, position: 4, title: 'e', type: 'array' },
    });
  });

  it('maps tuples, sets and Literal', () => {
    expect(
      properties(`
from typing import Literal, Tuple
@flow
def f(a: Tuple[int, str] = (1, "x"), b: tuple[int, ...] = (), c: set = None, d: Literal["x", "y"] = "x", e: Literal[1] = 1): pass
`),
    ).toEqual({
      a: { default: [1, 'x'], maxItems: 2, minItems: 2, position: 0, prefixItems: [{ type: 'integer' }, { type: 'string' }], title: 'a', type: 'array' },
      b: { default: [], items: { type: 'integer' }, position: 1, title: 'b', type: 'array' },
      c: { default: null, items: {}, position: 2, title: 'c', type: 'array', uniqueItems: true },
      d: { default: 'x', enum: ['x', 'y'], position: 3, title: 'd', type: 'string' },
      e: { const: 1, default: 1, position: 4, title: 'e', type: 'integer' },
    });
  });

  it('handles *args, keyword-only and positional-only parameters, **kwargs and self', () => {
    const info = flow('@flow\ndef f(self, a, /, b: int, *args: str, c: bool = True, d, **kwargs): pass\n');
    expect(info.parameterSchema).toEqual({
      title: 'Parameters',
      type: 'object',
      properties: {
        a: { position: 1, title: 'a' },
        b: { position: 2, title: 'b', type: 'integer' },
        args: { position: 3, title: 'args', type: 'string' },
        c: { default: true, position: 4, title: 'c', type: 'boolean' },
        d: { position: 5, title: 'd' },
        kwargs: { position: 6, title: 'kwargs' },
      },
      required: ['a', 'b', 'args', 'd', 'kwargs'],
    });
  });

  it('reads defaults with brackets, commas and escapes, and module constants', () => {
    expect(
      properties(String.raw`
SIZE = 20
NAMES = ("a", "b")
@flow
def f(a: dict = {"k, v": [1, (2, 3)], "z": {"b": 1, "a": 2}}, b: str = 'it\'s "q", \x41', c=SIZE, d=NAMES, e: int = -0x10, f: float = 1e3, g: str = r"\d"): pass
`),
    ).toEqual({
      a: { additionalProperties: true, default: { 'k, v': [1, [2, 3]], z: { a: 2, b: 1 } }, position: 0, title: 'a', type: 'object' },
      b: { default: 'it\'s "q", A', position: 1, title: 'b', type: 'string' },
      c: { default: 20, position: 2, title: 'c' },
      d: { default: ['a', 'b'], position: 3, title: 'd' },
      e: { default: -16, position: 4, title: 'e', type: 'integer' },
      f: { default: 1000, position: 5, title: 'f', type: 'number' },
      g: { default: '\\d', position: 6, title: 'g', type: 'string' },
    });
  });

  it('resolves quoted annotations and type aliases like Prefect', () => {
    expect(
      properties(`
from typing import List, Optional
from uuid import UUID
Ids = Optional[List[str]]
@flow
def f(a: "UUID", b: Ids = None, c: Optional["UUID"] = None, d: Optional["int"] = None): pass
`),
    ).toEqual({
      a: { format: 'uuid', position: 0, title: 'a', type: 'string' },
      b: { anyOf: [{ items: { type: 'string' }, type: 'array' }, { type: 'null' }], default: null, position: 1, title: 'b' },
      // A quoted name inside another type is a forward reference pydantic cannot resolve: Prefect gives {}.
      c: { default: null, position: 2, title: 'c' },
      d: { anyOf: [{ type: 'integer' }, { type: 'null' }], default: null, position: 3, title: 'd' },
    });
  });

  it('treats quoted annotations under `from __future__ import annotations` as forward references', () => {
    expect(properties('from __future__ import annotations\nfrom uuid import UUID\n@flow\ndef f(a: "UUID" = None, b: UUID = None): pass\n')).toEqual({
      a: { default: null, position: 0, title: 'a' },
      b: { default: null, format: 'uuid', position: 1, title: 'b', type: 'string' },
    });
  });

  it('describes parameters from the Google-style docstring', () => {
    const schema = properties(`
@flow
def f(a: int, b: str = "x"):
    """Summary.

    Args:
        a: The a,
            over two lines.
        b (str, optional): The b.
    """
`);
    expect(schema.a).toEqual({ description: 'The a,\nover two lines.', position: 0, title: 'a', type: 'integer' });
    expect(schema.b).toEqual({ default: 'x', description: 'The b.', position: 1, title: 'b', type: 'string' });
  });

  it("leaves annotations it cannot translate open, with a warning, as Prefect does when it can't import them", () => {
    const info = flow(`
from pydantic import Field
from typing import Annotated
from archiver.models import Job
@flow
def f(job: Job, n: Annotated[int, Field(ge=1)] = 1, note: Annotated[str, "for readers"] = "", m: Annotated[int, Field(strict=True)] = 2): pass
`);
    expect(info.parameterSchema.properties).toEqual({
      job: { position: 0, title: 'job' },
      n: { default: 1, minimum: 1, position: 1, title: 'n', type: 'integer' },
      note: { default: '', position: 2, title: 'note', type: 'string' },
      m: { default: 2, position: 3, title: 'm' },
    });
    expect(info.warnings).toEqual([
      expect.stringMatching(/^parameter `job`: the annotation `Job` is not a type openem-config can translate, so its schema is left open/),
      expect.stringMatching(/^parameter `m`: the annotation `Annotated\[int, Field\(strict=True\)\]` carries metadata/),
    ]);
  });

  it("gives no default, with a warning, for a default only the running code knows, and keeps the parameter optional", () => {
    const info = flow(`
import os
from datetime import datetime
@flow
def f(path: str = os.getcwd(), n: int = 10 * 1024, s: set = {1, 2}, big: int = 12345678901234567890, when: datetime = datetime.now(), ok: int = 1): pass
`);
    expect(info.parameterSchema.required).toBeUndefined();
    expect(info.parameterSchema.properties).toEqual({
      path: { position: 0, title: 'path', type: 'string' },
      n: { position: 1, title: 'n', type: 'integer' },
      s: { items: {}, position: 2, title: 's', type: 'array', uniqueItems: true },
      big: { position: 3, title: 'big', type: 'integer' },
      when: { format: 'date-time', position: 4, title: 'when', type: 'string' },
      ok: { default: 1, position: 5, title: 'ok', type: 'integer' },
    });
    expect(info.warnings).toEqual(
      ['path', 'n', 's', 'big', 'when'].map((name) => expect.stringMatching(new RegExp(`^parameter \`${name}\`: the default \`.+\` cannot be evaluated without running the code, so the schema gives no default for it`))),
    );
  });

  it('refuses parameter names Prefect refuses', () => {
    expect(problem('@flow\ndef f(_private: int = 1): pass\n').problem).toContain('starts with an underscore');
    expect(problem('@flow\ndef f(wait_for=None): pass\n').problem).toContain('reserved by Prefect');
  });

  it('gives an empty parameter list an empty schema', () => {
    expect(flow('@flow\ndef f(): pass\n').parameterSchema).toEqual({ title: 'Parameters', type: 'object', properties: {} });
  });
});

describe('analyzeEntrypoint', () => {
  it('reports a missing file at the deployment, naming the flows directory', () => {
    const { info, issues } = entrypoint('archiver/flows/nope.py:f');
    expect(info).toBeUndefined();
    expect(issues).toEqual([
      { ...source, severity: 'error', message: expect.stringMatching(/^entrypoint `archiver\/flows\/nope.py:f`: the flow file .*nope.py does not exist; the path is taken relative to --flows-dir/) },
    ]);
  });

  it('reports an entrypoint without a function, or with a Class.method', () => {
    expect(entrypoint('archiver/flows/mock_flows.py').issues[0]?.message).toContain('must be `path/to/file.py:function` or a module path');
    expect(entrypoint('archiver/flows/mock_flows.py:Class.method').issues[0]?.message).toContain('must be `path/to/file.py:function`');
  });

  it('reads a module path as prefect deploy imports it from the directory it runs in: module.py, else the package', () => {
    const dir = temp.write('modules/pipelines/__init__.py', '').replace(/pipelines\/__init__\.py$/, '');
    temp.write('modules/pipelines/ingest.py', '@flow(name="ingest-files")\ndef ingest(limit: int = 5): pass\n');
    temp.write('modules/pipelines/report/__init__.py', '@flow\ndef weekly_report(): pass\n');
    for (const [entry, flowName] of [
      ['pipelines.ingest:ingest', 'ingest-files'],
      ['pipelines.ingest.ingest', 'ingest-files'],
      ['pipelines.report:weekly_report', 'weekly-report'],
    ] as const) {
      const { info, issues } = entrypoint(entry, dir);
      expect(issues, entry).toEqual([]);
      expect(info?.flowName, entry).toBe(flowName);
    }
    expect(entrypoint('pipelines.ingest:ingest', dir).info?.parameterSchema.properties).toEqual({ limit: { default: 5, position: 0, title: 'limit', type: 'integer' } });
  });

  it('reads the package of a module path before a module file of the same name, as Python imports it', () => {
    const dir = temp.write('shadow/pkg/mod.py', '@flow(name="from-module-file")\ndef f(): pass\n').replace(/pkg\/mod\.py$/, '');
    temp.write('shadow/pkg/mod/__init__.py', '@flow(name="from-package")\ndef f(): pass\n');
    expect(entrypoint('pkg.mod:f', dir).info?.flowName).toBe('from-package');
  });

  it('reports a module path found below neither name as an error, or, with flow_name given, as a warning (an installed package)', () => {
    const dir = temp.write('missing/x.py', '').replace(/x\.py$/, '');
    const missing = entrypoint('company.flows:etl', dir);
    expect(missing.info).toBeUndefined();
    expect(missing.issues).toEqual([
      { ...source, severity: 'error', message: expect.stringMatching(/^entrypoint `company.flows:etl`: there is no package `company` \(no directory company\) below --flows-dir .*; correct the entrypoint, or, for a module of an installed package, give `flow_name:`$/) },
    ]);
    const issues = new IssueList();
    expect(analyzeEntrypoint(dir, 'company.flows:etl', source, issues, { flowName: 'etl' })).toBeUndefined();
    expect(issues.items).toEqual([{ ...source, severity: 'warning', message: expect.stringContaining('so its parameter schema is not derived (an installed package?)') }]);
  });

  it('reports a function that is not a flow with the file and line', () => {
    const { issues } = entrypoint('archiver/flows/mock_flows.py:not_a_flow');
    expect(issues).toEqual([{ ...source, severity: 'error', message: expect.stringMatching(/mock_flows\.py:97\): `not_a_flow` is not decorated with @flow/) }]);
  });

  it('passes warnings on and still returns the flow', () => {
    const file = temp.write('flows/custom.py', 'from models import Job\n@flow\ndef run_job(job: Job): pass\n');
    const { info, issues } = entrypoint('flows/custom.py:run_job', file.replace(/flows\/custom\.py$/, ''));
    expect(info?.flowName).toBe('run-job');
    expect(issues).toEqual([{ ...source, severity: 'warning', message: expect.stringContaining('custom.py:3): parameter `job`') }]);
  });
});

describe('annotations Prefect cannot evaluate', () => {
  const TYPE_CHECKING_IMPORT = 'from typing import TYPE_CHECKING, List, Optional\nfrom prefect import flow\nif TYPE_CHECKING:\n    from storage import Bucket\n';

  it('with the __future__ import, reads every annotation as text in Prefect namespace once one names what is not defined', () => {
    const info = flow(`from __future__ import annotations\n${TYPE_CHECKING_IMPORT}@flow\ndef f(bucket: Bucket, names: List[str], size: int = 1, extra: typing.Optional[int] = None, ids: list[int] | None = None):\n    pass\n`);
    expect(info.parameterSchema.properties).toEqual({
      bucket: { position: 0, title: 'bucket' },
      names: { position: 1, title: 'names' },
      size: { default: 1, position: 2, title: 'size', type: 'integer' },
      extra: { anyOf: [{ type: 'integer' }, { type: 'null' }], default: null, position: 3, title: 'extra' },
      ids: { anyOf: [{ items: { type: 'integer' }, type: 'array' }, { type: 'null' }], default: null, position: 4, title: 'ids' },
    });
    expect(info.warnings).toEqual([expect.stringMatching(/^`Bucket`, which is not defined once the module has run .* the schema of `bucket`, `names` is left open/)]);
  });

  it('without it, only the quoted annotations, and only when a quoted one fails', () => {
    const failing = flow(`${TYPE_CHECKING_IMPORT}@flow\ndef f(bucket: "Bucket", names: List[str], label: "Optional[str]" = None):\n    pass\n`);
    expect(failing.parameterSchema.properties).toEqual({
      bucket: { position: 0, title: 'bucket' },
      names: { items: { type: 'string' }, position: 1, title: 'names', type: 'array' },
      label: { default: null, position: 2, title: 'label' },
    });
    expect(failing.warnings).toEqual([expect.stringContaining("cannot evaluate the flow's quoted annotations")]);
    const evaluated = flow(`${TYPE_CHECKING_IMPORT}@flow\ndef f(names: "List[str]", label: "Optional[str]" = None):\n    pass\n`);
    expect(evaluated.parameterSchema.properties).toEqual({
      names: { items: { type: 'string' }, position: 0, title: 'names', type: 'array' },
      label: { anyOf: [{ type: 'string' }, { type: 'null' }], default: null, position: 1, title: 'label' },
    });
    expect(evaluated.warnings).toEqual([]);
  });

  it("takes the bindings of an `if TYPE_CHECKING:`'s else branch, which always runs", () => {
    const info = flow(`from __future__ import annotations\n${TYPE_CHECKING_IMPORT}else:\n    Bucket = str\n@flow\ndef f(bucket: Bucket, names: List[str]):\n    pass\n`);
    expect(info.parameterSchema.properties).toEqual({
      bucket: { position: 0, title: 'bucket', type: 'string' },
      names: { items: { type: 'string' }, position: 1, title: 'names', type: 'array' },
    });
    expect(info.warnings).toEqual([]);
  });
});
