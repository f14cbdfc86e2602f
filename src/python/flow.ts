// A Prefect flow's name and parameter schema, read from its Python source without running it.
//
// `prefect deploy` imports the flow file and asks pydantic for the schema. This tool configures
// deployments from machines that have neither the flows' dependencies nor (necessarily) Python, so
// it parses the source (tree-sitter's Python grammar, syntax.ts) and reproduces what Prefect derives
// for the annotations flows actually use, for the Prefect release the flows go to (versions.ts).
// test/real/python-parity.test.ts compares the two on a corpus of flows with the pinned and the
// newest Prefect, so any drift from Prefect shows up there first.
//
// Where reading cannot replace running: an annotation this reader does not know (a class from another
// module, a model with a configuration) gets the open schema `{}` and a warning, which is what
// Prefect itself deploys when it cannot import the flow's dependencies; a default only the running
// code knows (`datetime.now()`, a call, arithmetic) gets no default in the schema, and a warning:
// the parameter stays optional and a run that leaves it out gets the flow's own default. Never a
// guess: a wrong type or default would be deployed, where an open one only validates less.
//
// The reader is layered so that each step can be tested and replaced alone: syntax.ts (the parser) ->
// expressions.ts (the nodes that matter, as expressions) -> module.ts (bindings, the def, its
// signature) -> schema.ts (with annotations.ts, classes.ts for the module's Enums and models,
// values.ts for defaults, docstring.ts, names.ts and versions.ts); this module ties them together
// and reports.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { nameError } from '../config/names.js';
import type { JsonValue } from '../config/types.js';
import type { IssueList, Source } from '../errors.js';
import { ENTRYPOINT_FORMS, findModuleFile, parseEntrypoint, type FileSystem } from './entrypoint.js';
import { qualifiedName } from './names.js';
import { cleandoc, parameterDescriptions } from './docstring.js';
import type { Expr } from './expressions.js';
import { isFlowDecoratorText, scanModule, type FunctionSite, type Scope } from './module.js';
import { SourceProblem } from './problem.js';
import { parameterSchema } from './schema.js';
import { schemaRulesFor } from './versions.js';
import { parseModule, type SyntaxNode } from './syntax.js';
import { literalValue } from './values.js';

export interface FlowInfo {
  /** `name=` of the flow decorator, or Prefect's default: the function name with `_` replaced by `-`. */
  flowName: string;
  functionName: string;
  /** What Prefect sends as the deployment's `parameter_openapi_schema`. */
  parameterSchema: { [key: string]: JsonValue };
  /** 1-based line of the `def` (of `async` for `async def`). */
  line: number;
  /** The flow's own description: `description=` of the decorator, else the cleaned docstring; absent when neither is known. */
  description?: string | undefined;
  /** The flow's own version: `version=` of the decorator, else the MD5 of the file, as Prefect computes it. */
  version: string;
  /** The function takes `**kwargs`: Prefect passes it any parameter its schema does not name. */
  takesAnyParameter: boolean;
  /** Parameters whose schema had to be left open; the flow still deploys, but less precisely than with Prefect. */
  warnings: string[];
}

export interface FlowProblem {
  problem: string;
  line?: number | undefined;
}

/** What the deployment itself declares about its flow, for what the source alone cannot tell, and where it goes. */
export interface DeclaredFlow {
  /** `flow_name` of the deployment: taken when `@flow(name=...)` is not a literal (a variable, an f-string, `**options`). */
  flowName?: string | undefined;
  /** The Prefect release the schema is derived for (versions.ts); without it, as the oldest 3.x derives it. */
  prefectVersion?: string | undefined;
}

/** Finds `def`/`async def` <functionName> at module top level, its decorators and signature. Pure. */
export function analyzeFlowSource(source: string, functionName: string, declared: DeclaredFlow = {}): FlowInfo | FlowProblem {
  try {
    return analyzeModule(source, functionName, declared);
  } catch (error) {
    if (error instanceof SourceProblem) return error.line === undefined ? { problem: error.message } : { problem: error.message, line: error.line };
    throw error;
  }
}

/**
 * Reads the flow file of the entrypoint below `flowsDir` (the file of `path:function`, or the module
 * of a module path, as prefect deploy imports it from the directory it runs in) and analyses the
 * function. Problems become errors at `source` (the deployment that names the entrypoint); open
 * schemas become warnings. A module path not found there may be an installed package: with
 * `flowName` declared, that is a warning and the schema stays open (undefined is returned).
 */
export function analyzeEntrypoint(flowsDir: string, entrypoint: string, source: Source, issues: IssueList, declared: DeclaredFlow = {}): FlowInfo | undefined {
  const parsed = parseEntrypoint(entrypoint);
  if (!parsed) {
    issues.error(
      source,
      `entrypoint \`${entrypoint}\` must be ${ENTRYPOINT_FORMS}: a Python file relative to --flows-dir or a module below it, and the name of a top-level flow function`,
    );
    return undefined;
  }
  const { functionName } = parsed;
  let file: string;
  if (parsed.form === 'file') {
    file = resolve(flowsDir, parsed.path);
  } else {
    const found = findModuleFile(resolve(flowsDir), parsed.module, LOCAL_FILES);
    if ('problem' in found) {
      const where = `${found.problem} below --flows-dir ${flowsDir}`;
      if (declared.flowName === undefined) {
        issues.error(source, `entrypoint \`${entrypoint}\`: ${where}; correct the entrypoint, or, for a module of an installed package, give \`flow_name:\``);
      } else {
        issues.warn(source, `entrypoint \`${entrypoint}\`: ${where}, so its parameter schema is not derived (an installed package?); runs are not checked against it`);
      }
      return undefined;
    }
    file = found.file;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? String(error)})`;
    issues.error(source, `entrypoint \`${entrypoint}\`: the flow file ${file} ${why}; the path is taken relative to --flows-dir ${flowsDir}`);
    return undefined;
  }
  const result = analyzeFlowSource(text, functionName, declared);
  if ('problem' in result) {
    const where = result.line === undefined ? file : `${file}:${result.line}`;
    issues.error(source, `entrypoint \`${entrypoint}\` (${where}): ${result.problem}`);
    return undefined;
  }
  for (const warning of result.warnings) issues.warn(source, `entrypoint \`${entrypoint}\` (${file}:${result.line}): ${warning}`);
  return result;
}

const kindOfPath = (path: string) => statSync(path, { throwIfNoEntry: false });
const LOCAL_FILES: FileSystem = { isFile: (path) => kindOfPath(path)?.isFile() ?? false, isDirectory: (path) => kindOfPath(path)?.isDirectory() ?? false };

const DEF_NOTE = 'Prefect deploys only functions decorated with `@flow` (from prefect)';

function isFlowDecorator(decorator: Expr, scope: Scope): boolean {
  const target = decorator.kind === 'call' ? decorator.func : decorator;
  const path = qualifiedName(target, { scope, forwardReference: false });
  return isFlowDecoratorText(decorator) || path === 'prefect.flow' || path === 'prefect.flows.flow';
}

function analyzeModule(source: string, functionName: string, declared: DeclaredFlow): FlowInfo {
  const tree = parseModule(source);
  try {
    return analyzeTree(tree.rootNode, { source, functionName, declared });
  } finally {
    tree.delete();
  }
}

function analyzeTree(root: SyntaxNode, { source, functionName, declared }: { source: string; functionName: string; declared: DeclaredFlow }): FlowInfo {
  const { site, futureAnnotations, flowFunctions } = scanModule(root, functionName);
  if (!site) {
    const known = flowFunctions.length > 0 ? `; its flow functions are: ${flowFunctions.join(', ')}` : '; it defines no flow functions';
    throw new SourceProblem(`there is no top-level function \`${functionName}\`${known}`);
  }
  const decorator = site.decorators.find((candidate) => isFlowDecorator(candidate, site.scope));
  if (!decorator) {
    throw new SourceProblem(`\`${functionName}\` is not decorated with @flow; ${DEF_NOTE}: decorate it, or point the entrypoint at a flow function`, site.line);
  }
  const options = decoratorOptions(decorator, { site, declaredName: declared.flowName });
  const docstring = site.docstring;
  const cleaned = docstring === undefined ? undefined : cleandoc(docstring);
  const { schema, warnings } = parameterSchema({
    site,
    futureAnnotations,
    rules: schemaRulesFor(declared.prefectVersion ?? '3.0.0'),
    descriptions: cleaned === undefined ? new Map() : parameterDescriptions(cleaned),
  });
  const description = options.description ?? (cleaned || undefined);
  return {
    flowName: options.name ?? functionName.replace(/_/g, '-'),
    functionName,
    parameterSchema: schema,
    line: site.line,
    ...(description === undefined ? {} : { description }),
    version: options.version ?? createHash('md5').update(source, 'utf8').digest('hex'),
    takesAnyParameter: site.parameters.some((parameter) => parameter.kind === 'var-keyword'),
    warnings,
  };
}

interface DecoratorOptions {
  name?: string | undefined;
  description?: string | undefined;
  version?: string | undefined;
}

/** `name=`, `description=` and `version=` of `@flow(...)`; an empty or None value means Prefect's default. */
function decoratorOptions(decorator: Expr, { site, declaredName }: { site: FunctionSite; declaredName: string | undefined }): DecoratorOptions {
  if (decorator.kind !== 'call') return {};
  const keyword = (name: string): Expr | undefined => decorator.keywords.find((candidate) => candidate.name === name)?.value;
  const spread = decorator.keywords.some((candidate) => candidate.name === undefined);
  const text = (name: string): string | undefined => {
    const expr = keyword(name);
    if (expr === undefined) return undefined;
    const literal = literalValue(expr, site.scope);
    return typeof literal?.value === 'string' && literal.value !== '' ? literal.value : undefined;
  };
  const nameExpr = keyword('name');
  const unreadable = nameExpr === undefined ? spread : literalValue(nameExpr, site.scope) === undefined;
  // Only the running code knows such a name; the deployment's own `flow_name` is the next best source.
  if (unreadable && declaredName !== undefined) return { name: declaredName, description: text('description'), version: text('version') };
  if (nameExpr === undefined && spread) {
    throw new SourceProblem(
      `the flow name of \`${site.name}\` comes from \`**\` arguments of @flow and cannot be read without running the code; set \`flow_name\` in the deployment`,
      site.line,
    );
  }
  if (nameExpr !== undefined) {
    const literal = literalValue(nameExpr, site.scope);
    if (literal === undefined || (literal.value !== null && typeof literal.value !== 'string')) {
      throw new SourceProblem(
        `the flow name of \`${site.name}\` is \`name=${nameExpr.text}\`, which is not a string literal and cannot be read without running the code; set \`flow_name\` in the deployment`,
        site.line,
      );
    }
  }
  const name = text('name');
  const problem = name === undefined ? undefined : nameError('flow', name);
  if (problem) throw new SourceProblem(`the ${problem} (rename the flow)`, site.line);
  return { name, description: text('description'), version: text('version') };
}
