// Cross-references between kinds, as named rules. They run twice: offline after loading (what the
// inputs do not declare is only a warning then), and after the server was read, before the first
// write (what neither the inputs declare nor the server has is an error).
import type { DesiredDeployment, JsonValue } from '../config/types.js';
import { isObject } from '../config/json.js';
import { IssueList, type ConfigIssue, type Source } from '../errors.js';
import type { ActionReference, DesiredAction, DesiredAutomation } from '../config/types.js';
import { automations } from '../kinds/automations/kind.js';
import { REFERENCE_KINDS } from '../kinds/automations/spec.js';
import { blocks } from '../kinds/blocks/kind.js';
import { deploymentTriggers } from '../kinds/deployment-triggers/kind.js';
import { blockKey } from '../kinds/blocks/spec.js';
import { checkJobVariables } from '../kinds/deployments/job-variables.js';
import { checkParameters, misfits, missingRequired, schemaOf, type ParameterSchema } from '../kinds/deployments/parameters.js';
import { deployments } from '../kinds/deployments/kind.js';
import { globalLimits } from '../kinds/global-limits/kind.js';
import { secrets } from '../kinds/secrets/kind.js';
import { variables } from '../kinds/variables/kind.js';
import { workPools } from '../kinds/work-pools/kind.js';
import { unwrap, type Api } from '../prefect/client.js';
import { pagesByName } from '../prefect/paging.js';
import type { AnyKind, DesiredSet, KindDefinition } from './kind.js';
import type { Plan } from './driver.js';

/** What a reference names, once looked for. */
export type Found<Desired, Current> =
  | { state: 'declared'; desired: Desired }
  | { state: 'server'; current: Current }
  | { state: 'missing' }
  /** Offline: not declared, and the server was not asked. */
  | { state: 'unknown' };

export interface RuleContext {
  desired: DesiredSet;
  find<D, C>(kind: KindDefinition<D, C>, key: string): Found<D, C>;
  /** Whether the plan deletes this object (--prune). */
  deleting(kind: { name: string }, key: string): boolean;
  /** The object as the server has it, declared or not (undefined offline, or when it is not there). */
  onServer<D, C>(kind: KindDefinition<D, C>, key: string): C | undefined;
  /** Checked without a server (validate): what the server holds is unknown, not absent. */
  offline: boolean;
}

export interface ReferenceRule<Facts = unknown> {
  name: string;
  /** The objects the rule refers to, looked for among the inputs, then on the server. */
  targets(desired: DesiredSet): Array<{ kind: AnyKind; key: string }>;
  /** What else the rule reads from the server (with a server only), given to `check`. */
  read?(api: Api, desired: DesiredSet): Promise<Facts>;
  /** `facts` is undefined offline. */
  check(context: RuleContext, facts?: Facts): ConfigIssue[];
}

const unknownHere = (what: string): string => `${what} is not declared here; it must exist on the server`;

/**
 * A reference to an object of another kind: an error when it is nowhere or --prune would delete
 * it in this run, a warning offline.
 */
function reference(found: Found<unknown, unknown>, source: Source, messages: { missing: string; unknown: string; pruned?: string | undefined }): ConfigIssue[] {
  if (found.state === 'server' && messages.pruned) return [{ ...source, message: messages.pruned, severity: 'error' }];
  if (found.state === 'missing') return [{ ...source, message: messages.missing, severity: 'error' }];
  if (found.state === 'unknown') return [{ ...source, message: messages.unknown, severity: 'warning' }];
  return [];
}

const deploymentPool: ReferenceRule = {
  name: 'deployment-work-pool',
  targets: (desired) => desired.get(deployments).flatMap((d) => (d.workPoolName ? [{ kind: workPools, key: d.workPoolName }] : [])),
  check({ desired, find }) {
    const issues: ConfigIssue[] = [];
    for (const deployment of desired.get(deployments)) {
      const poolName = deployment.workPoolName;
      if (!poolName) continue;
      const found = find(workPools, poolName);
      issues.push(
        ...reference(found, deployment.workPoolSource ?? deployment.source, {
          missing: `work pool "${poolName}" is neither declared (-l with [work_pools.${poolName}]) nor on the server`,
          unknown: unknownHere(`work pool "${poolName}"`),
        }),
      );
      const poolType = found.state === 'declared' ? found.desired.type : found.state === 'server' ? found.current.pool.type : undefined;
      const written = deployment.workPoolType;
      if (written && poolType !== undefined && written.type !== poolType) {
        issues.push({
          ...written.source,
          severity: 'error',
          message: `\`work_pool.type\` is \`${written.type}\`, but the work pool \`${poolName}\` ${found.state === 'declared' ? 'declared with -l' : 'on the server'} is of type \`${poolType}\`: Prefect 3 ignores the key, so the runs would go to a ${poolType} pool, not the ${written.type} pool the file describes; remove \`type:\` if the ${poolType} pool is meant, else name a ${written.type} pool (a pool's type cannot be changed)`,
        });
      }
      const template =
        found.state === 'declared' ? found.desired.baseJobTemplate : found.state === 'server' ? (found.current.pool.base_job_template as Record<string, unknown> | undefined) : undefined;
      issues.push(...jobVariableIssues(deployment, template));
    }
    return issues;
  },
};

function jobVariableIssues(deployment: DesiredDeployment, template: { variables?: unknown } | undefined): ConfigIssue[] {
  if (!deployment.jobVariables || !template?.variables) return [];
  return checkJobVariables(deployment.jobVariables, template.variables).map((problem) => ({
    ...(deployment.jobVariableSources?.[problem.path] ?? {
      ...deployment.source,
      key: `${deployment.source.key ?? deployment.name}.work_pool.job_variables.${problem.path}`,
    }),
    message: problem.message,
    severity: problem.warning ? 'warning' : 'error',
  }));
}

/**
 * A `{{ prefect.<kind>.<name> }}` placeholder of a deployment names an object of one of `targets`
 * (a secret may be given with -s or declared as [blocks.secret.<name>]).
 */
function placeholderRule(options: {
  name: string;
  ref: 'secret' | 'variable' | 'block';
  targets: ReadonlyArray<{ kind: AnyKind; key: (name: string) => string }>;
  missing: (name: string) => string;
  what: string;
}): ReferenceRule {
  const refs = (desired: DesiredSet) => desired.get(deployments).flatMap((deployment) => deployment.references.filter((ref) => ref.kind === options.ref));
  return {
    name: options.name,
    // Looked up on the server through the first target only: the others name the same object
    // declared another way (a secret block is one document however it was declared).
    targets: (desired) =>
      refs(desired).flatMap((ref) => {
        if (options.targets.some((target) => desired.has(target.kind, target.key(ref.name)))) return [];
        const [first] = options.targets;
        return first ? [{ kind: first.kind, key: first.key(ref.name) }] : [];
      }),
    check: ({ desired, find, deleting }) =>
      refs(desired).flatMap((ref) => {
        const found = options.targets.map((target) => find(target.kind, target.key(ref.name)));
        const best = found.find((f) => f.state === 'declared' || f.state === 'server') ?? found.find((f) => f.state === 'unknown') ?? found[0]!;
        const pruned = options.targets.some((target) => deleting(target.kind, target.key(ref.name)));
        return reference(best, ref.source, {
          missing: options.missing(ref.name),
          unknown: unknownHere(`${options.what} "${ref.name}"`),
          pruned: pruned ? `refers to ${options.what} "${ref.name}", which --prune would delete (the inputs no longer declare it); declare it again or remove the reference` : undefined,
        });
      }),
  };
}

const deploymentSecrets = placeholderRule({
  name: 'deployment-secret-block',
  ref: 'secret',
  targets: [
    { kind: secrets, key: (name) => name },
    { kind: blocks, key: (name) => blockKey('secret', name) },
  ],
  what: 'secret',
  missing: (name) => `refers to secret block "${name}", which the inputs do not declare and the server does not have; add it with -s/--secret or fix the name`,
});

const deploymentVariables = placeholderRule({
  name: 'deployment-variable',
  ref: 'variable',
  targets: [{ kind: variables, key: (name) => name }],
  what: 'variable',
  missing: (name) => `refers to variable "${name}", which the inputs do not declare and the server does not have`,
});

const deploymentBlocks = placeholderRule({
  name: 'deployment-block',
  ref: 'block',
  targets: [{ kind: blocks, key: (name) => name }],
  what: 'block',
  missing: (name) => `refers to block ${name}, which the inputs do not declare ([blocks.<type>.<name>] in a limits manifest) and the server does not have; declare it or fix the name`,
});

/** A block field that holds another block names one the inputs declare or the server has. */
const blockReferences: ReferenceRule = {
  name: 'block-block',
  targets: (desired) => desired.get(blocks).flatMap((block) => Object.values(block.references).map((ref) => ({ kind: blocks, key: blockKey(ref.type, ref.name) }))),
  check: ({ desired, find, deleting }) =>
    desired.get(blocks).flatMap((block) =>
      Object.values(block.references).flatMap((ref) => {
        const key = blockKey(ref.type, ref.name);
        return reference(find(blocks, key), ref.source, {
          missing: `refers to block ${key}, which the inputs do not declare and the server does not have`,
          unknown: unknownHere(`block ${key}`),
          pruned: deleting(blocks, key) ? `refers to block ${key}, which --prune would delete (the inputs no longer declare it); declare it again or remove the reference` : undefined,
        });
      }),
    ),
};

/** One secret block declared both as a secret file and in [blocks.secret]: two values for one block. */
const secretDeclaredTwice: ReferenceRule = {
  name: 'secret-declared-twice',
  targets: () => [],
  check: ({ desired }) => {
    const files = new Map(desired.get(secrets).map((secret) => [secret.name, secret]));
    return desired
      .get(blocks)
      .filter((block) => block.type === 'secret' && files.has(block.name))
      .map((block) => ({
        ...block.source,
        severity: 'error' as const,
        message: `secret block "${block.name}" is also given as a secret file (${files.get(block.name)!.source.key ?? files.get(block.name)!.source.file}); declare it once`,
      }));
  },
};

/**
 * A top-level automation named as a declared deployment trigger: both are automations on the
 * server, where Prefect does not make names unique, and openem-config matches an automation (and
 * an action's `automation:`) by name, so the next run could not tell them apart.
 */
const automationNamedLikeTrigger: ReferenceRule = {
  name: 'automation-named-like-trigger',
  targets: () => [],
  check: ({ desired }) => {
    const triggers = new Map(desired.get(deploymentTriggers).map((trigger) => [trigger.name, trigger]));
    return desired.get(automations).flatMap((automation) => {
      const trigger = triggers.get(automation.name);
      if (!trigger) return [];
      const where = trigger.source.line === undefined ? trigger.source.file : `${trigger.source.file}:${trigger.source.line}`;
      return [
        {
          ...automation.source,
          severity: 'error' as const,
          message: `automation "${automation.name}" has the name of a trigger of deployment ${trigger.deployment} (${where}); both are automations on the server, matched by name, so give one of them another name`,
        },
      ];
    });
  },
};

const deploymentGlobalLimit: ReferenceRule = {
  name: 'deployment-global-limit',
  targets: (desired) =>
    desired.get(deployments).flatMap((d) => (d.globalConcurrencyLimit ? [{ kind: globalLimits, key: d.globalConcurrencyLimit.name }] : [])),
  check({ desired, find, deleting }) {
    const issues: ConfigIssue[] = [];
    for (const deployment of desired.get(deployments)) {
      const shared = deployment.globalConcurrencyLimit;
      if (!shared) continue;
      issues.push(
        ...reference(find(globalLimits, shared.name), shared.source, {
          missing: `global concurrency limit "${shared.name}" is neither declared (-l with [global_limits.${shared.name}]) nor on the server; declare it or fix the name`,
          unknown: unknownHere(`global concurrency limit "${shared.name}"`),
        }),
      );
      if (deleting(globalLimits, shared.name)) {
        issues.push({
          ...shared.source,
          message: `shares global concurrency limit "${shared.name}", which --prune would delete (no limits manifest declares it any more); declare the limit or remove global_concurrency_limit`,
          severity: 'error',
        });
      }
    }
    return issues;
  },
};

const prunedPoolInUse: ReferenceRule = {
  name: 'pruned-pool-in-use',
  targets: () => [],
  check: ({ desired, deleting }) =>
    desired.get(deployments).flatMap((deployment): ConfigIssue[] =>
      deployment.workPoolName && deleting(workPools, deployment.workPoolName)
        ? [
            {
              ...(deployment.workPoolSource ?? deployment.source),
              message: `runs on work pool "${deployment.workPoolName}", which --prune would delete (no limits manifest declares it any more); declare the pool or move the deployment`,
              severity: 'error',
            },
          ]
        : [],
    ),
};

/** The queue every pool has, created with it. */
const DEFAULT_QUEUE = 'default';

/** The queues deployments name that the inputs do not declare with their pool. */
function undeclaredQueues(desired: DesiredSet): Array<{ deployment: DesiredDeployment; pool: string; queue: string }> {
  const declaredPools = new Map(desired.get(workPools).map((pool) => [pool.name, new Set(pool.queues.map((queue) => queue.name))]));
  return desired.get(deployments).flatMap((deployment) => {
    const pool = deployment.workPoolName;
    const queue = deployment.workQueueName;
    if (!pool || !queue || queue === DEFAULT_QUEUE || declaredPools.get(pool)?.has(queue)) return [];
    return [{ deployment, pool, queue }];
  });
}

/**
 * A deployment's work queue must be declared with its pool or be on the server: Prefect would
 * create a queue it does not know, silently, with default settings.
 */
const deploymentQueue: ReferenceRule<Set<string>> = {
  name: 'deployment-work-queue',
  targets: () => [],
  // Queues by name across all pools (one request for all), kept as `<pool id>/<queue>`.
  async read(api, desired) {
    const names = [...new Set(undeclaredQueues(desired).map((entry) => entry.queue))];
    if (names.length === 0) return new Set();
    const queues = await pagesByName(
      names,
      (batch, offset, limit) => unwrap(api.client.POST('/work_queues/filter', { body: { work_queues: { operator: 'and_', name: { any_: batch } }, limit, offset } })),
      { unique: false },
    );
    return new Set(queues.map((queue) => `${queue.work_pool_id ?? ''}/${queue.name}`));
  },
  check({ desired, find, onServer: current }, onServer) {
    return undeclaredQueues(desired).flatMap(({ deployment, pool, queue }): ConfigIssue[] => {
      const source = deployment.workPoolSource ?? deployment.source;
      const fix = `declare it under [work_pools.${pool}.queues.${queue}] in a limits manifest, or name a queue the pool has`;
      if (!onServer) return [{ ...source, severity: 'warning', message: `work queue "${queue}" of pool "${pool}" is not declared here; it must exist on the server, or Prefect creates it with default settings` }];
      const found = find(workPools, pool);
      // A pool that is nowhere is the pool rule's error; a pool only declared is new, and so is the queue.
      if (found.state === 'missing') return [];
      const poolId = current(workPools, pool)?.pool.id;
      if (poolId !== undefined && onServer.has(`${poolId}/${queue}`)) return [];
      return [{ ...source, severity: 'error', message: `work queue "${queue}" of pool "${pool}" is neither declared nor on the server, and Prefect would create it silently with default settings; ${fix}` }];
    });
  },
};

/**
 * Without a parameter schema in the inputs, the parameters of a deployment the server has are
 * checked against the schema it holds, before any write: Prefect would refuse them only when the
 * deployment is written, after the run's other writes.
 */
const deploymentParametersOnServer: ReferenceRule = {
  name: 'deployment-parameters-server-schema',
  targets: () => [],
  check({ desired, onServer }) {
    return desired.get(deployments).flatMap((deployment) => {
      if (deployment.parameterSchema !== undefined) return [];
      const current = onServer(deployments, deployments.key(deployment))?.deployment;
      const schema = current?.parameter_openapi_schema as { [key: string]: JsonValue } | null | undefined;
      if (!schema || Object.keys((schema.properties as object | undefined) ?? {}).length === 0) return [];
      const issues = new IssueList();
      checkParameters({ ...deployment, parameterSchema: schema, enforceParameterSchema: deployment.enforceParameterSchema ?? current?.enforce_parameter_schema ?? true }, issues);
      return issues.items;
    });
  },
};

/** What the runs of a deployment start from: the flow's schema and the deployment's own parameters. */
interface RunBase {
  target: ParameterSchema | undefined;
  parameters: { [name: string]: JsonValue };
  /** Offline, the inputs leave the parameters to the server: those it holds are not known. */
  unknownOnServer: boolean;
  paused: boolean;
}

function runBase(context: RuleContext, key: string): RunBase | undefined {
  const found = context.find(deployments, key);
  const current = context.onServer(deployments, key)?.deployment;
  const serverSchema = (enforce: boolean | undefined): ParameterSchema | undefined => {
    const schema = current?.parameter_openapi_schema as { [key: string]: JsonValue } | null | undefined;
    if (!current || !schema || Object.keys((schema.properties as object | undefined) ?? {}).length === 0) return undefined;
    return { flowName: key.slice(0, key.indexOf('/')), schema, takesAnyParameter: false, enforced: enforce ?? current.enforce_parameter_schema ?? true };
  };
  const serverParameters = (current?.parameters ?? {}) as { [name: string]: JsonValue };
  if (found.state === 'declared') {
    const deployment = found.desired;
    // A schema without properties is what Prefect stores when none is given: it says nothing of the flow.
    const declared = schemaOf(deployment);
    const described = declared && Object.keys((declared.schema.properties as object | undefined) ?? {}).length > 0 ? declared : undefined;
    return {
      target: described ?? (declared ? undefined : serverSchema(deployment.enforceParameterSchema)),
      parameters: deployment.parameters ?? serverParameters,
      unknownOnServer: deployment.parameters === undefined && context.offline,
      paused: deployment.paused ?? current?.paused ?? false,
    };
  }
  if (found.state === 'server') return { target: serverSchema(undefined), parameters: serverParameters, unknownOnServer: false, paused: current?.paused ?? false };
  return undefined;
}

const UNLESS_ON_SERVER = 'unless the deployment on the server has it: the inputs give no `parameters`, so it keeps its own';

const listed = (names: string[]): string => names.map((name) => `\`${name}\``).join(', ');

/** The run-deployment actions of the declared automations and deployment triggers that name their deployment. */
function runDeploymentActions(desired: DesiredSet): Array<{ automation: DesiredAutomation; action: DesiredAction; deployment: string }> {
  return [...desired.get(automations), ...desired.get(deploymentTriggers)].flatMap((automation) =>
    [...automation.actions, ...automation.actionsOnTrigger, ...automation.actionsOnResolve].flatMap((action) =>
      action.body.type === 'run-deployment' && action.reference?.kind === 'deployment' && action.reference.name !== undefined ? [{ automation, action, deployment: action.reference.name }] : [],
    ),
  );
}

/**
 * The runs that schedules, deployment triggers and automations start get the deployment's
 * parameters and their own: each of the flow's required parameters must be in one of them (else
 * every such run fails), and what an action gives must fit the flow, as the deployment's own
 * parameters must. Checked against the schema of the inputs, else the one the server holds.
 */
const runParameters: ReferenceRule = {
  name: 'run-parameters',
  targets: (desired) => runDeploymentActions(desired).map(({ deployment }) => ({ kind: deployments, key: deployment })),
  check(context) {
    const issues: ConfigIssue[] = [];
    for (const deployment of context.desired.get(deployments)) {
      const base = runBase(context, deployments.key(deployment));
      if (!base?.target) continue;
      for (const schedule of deployment.schedules) {
        const missing = missingRequired(base.target, base.parameters, schedule.parameters);
        if (missing.length === 0) continue;
        const idle = !schedule.active ? 'the schedule is inactive, so no run fails yet' : base.paused ? 'the deployment is paused, so no run fails yet' : base.unknownOnServer ? UNLESS_ON_SERVER : undefined;
        const message = `every run of this schedule would fail: the flow ${base.target.flowName} requires ${listed(missing)}, which neither the schedule's \`parameters\` nor the deployment's give; add ${missing.length > 1 ? 'them' : 'it'} to either, or give the flow parameter a default`;
        issues.push(idle ? { ...schedule.source, severity: 'warning', message: `${message} (${idle})` } : { ...schedule.source, severity: 'error', message });
      }
    }
    for (const { automation, action, deployment } of runDeploymentActions(context.desired)) {
      const base = runBase(context, deployment);
      if (!base?.target) continue;
      const given = isObject(action.body.parameters) ? action.body.parameters : {};
      const at = (path: string): Source => ({ ...action.source, key: `${action.source.key ?? automation.name}.parameters${path}` });
      for (const misfit of misfits(base.target, given, { templated: true })) {
        const message = `${misfit.message}, for the runs of deployment "${deployment}" this action starts`;
        issues.push(base.target.enforced ? { ...at(misfit.path), severity: 'error', message } : { ...at(misfit.path), severity: 'warning', message: `${message} (the schema is not enforced, so the flow would get it as it is)` });
      }
      const missing = missingRequired(base.target, base.parameters, given);
      if (missing.length === 0) continue;
      const message = `every run of deployment "${deployment}" this action starts would fail: the flow ${base.target.flowName} requires ${listed(missing)}, which neither the action's \`parameters\` nor the deployment's give; add ${missing.length > 1 ? 'them' : 'it'} to either`;
      const idle = !automation.enabled ? 'the automation is disabled, so no run fails yet' : base.unknownOnServer ? UNLESS_ON_SERVER : undefined;
      issues.push(idle ? { ...action.source, severity: 'warning', message: `${message} (${idle})` } : { ...action.source, severity: 'error', message });
    }
    return issues;
  },
};

/** Every action of the declared automations and deployment triggers that names an object by name. */
function namedReferences(desired: DesiredSet): ActionReference[] {
  return [...desired.get(automations), ...desired.get(deploymentTriggers)].flatMap((automation) =>
    [...automation.actions, ...automation.actionsOnTrigger, ...automation.actionsOnResolve].flatMap((action) => (action.reference?.name !== undefined ? [action.reference] : [])),
  );
}

/** Where each named kind of reference is looked for (a secret block may be given as a secret too). */
function referenceTargets(reference: ActionReference): Array<{ kind: AnyKind; key: string }> {
  const name = reference.name!;
  switch (reference.kind) {
    case 'deployment':
      return [{ kind: deployments, key: name }];
    case 'work_pool':
      return [{ kind: workPools, key: name }];
    case 'work_queue':
      return [{ kind: workPools, key: name.slice(0, name.indexOf('/')) }];
    case 'block_document':
      return name.startsWith('secret/') ? [{ kind: blocks, key: name }, { kind: secrets, key: name.slice('secret/'.length) }] : [{ kind: blocks, key: name }];
    case 'automation':
      return [{ kind: automations, key: name }];
  }
}

/**
 * An automation's action names a deployment, pool, queue, block or automation that the inputs
 * declare or the server has (the queue among its pool's declared queues or on the server).
 */
const automationReferences: ReferenceRule<Set<string>> = {
  name: 'automation-references',
  targets: (desired) => namedReferences(desired).flatMap((reference) => referenceTargets(reference).slice(0, 1)),
  async read(api, desired) {
    const queues = namedReferences(desired).filter((reference) => reference.kind === 'work_queue');
    if (queues.length === 0) return new Set();
    const names = [...new Set(queues.map((reference) => reference.name!.slice(reference.name!.indexOf('/') + 1)))];
    const found = await pagesByName(
      names,
      (batch, offset, limit) => unwrap(api.client.POST('/work_queues/filter', { body: { work_queues: { operator: 'and_', name: { any_: batch } }, limit, offset } })),
      { unique: false },
    );
    return new Set(found.map((queue) => `${queue.work_pool_name ?? ''}/${queue.name}`));
  },
  check({ desired, find, deleting }, queuesOnServer) {
    return namedReferences(desired).flatMap((ref): ConfigIssue[] => {
      const name = ref.name!;
      const what = `${REFERENCE_KINDS[ref.kind].what} ${JSON.stringify(name)}`;
      const targets = referenceTargets(ref);
      const found = targets.map((target) => find(target.kind, target.key));
      const best = found.find((f) => f.state === 'declared' || f.state === 'server') ?? found.find((f) => f.state === 'unknown') ?? found[0]!;
      const pruned = targets.some((target) => deleting(target.kind, target.key));
      if (ref.kind === 'work_queue') {
        const [pool = '', queue = ''] = name.split('/');
        const declaredPool = desired.find(workPools, pool);
        if (declaredPool?.queues.some((q) => q.name === queue) || queue === DEFAULT_QUEUE && best.state !== 'missing') return [];
        if (!queuesOnServer) return [{ ...ref.source, severity: 'warning', message: unknownHere(what) }];
        if (queuesOnServer.has(name) && !pruned) return [];
        return [{ ...ref.source, severity: 'error', message: `names ${what}, which neither the inputs declare nor the server has; declare it under [work_pools.${pool}.queues.${queue}] or fix the name` }];
      }
      return reference(best, ref.source, {
        missing: `names ${what}, which neither the inputs declare nor the server has; declare it or fix the name (written ${REFERENCE_KINDS[ref.kind].form})`,
        unknown: unknownHere(what),
        pruned: pruned ? `names ${what}, which --prune would delete (the inputs no longer declare it); declare it again or change the action` : undefined,
      });
    });
  },
};

export const REFERENCE_RULES: readonly ReferenceRule[] = [
  automationReferences,
  deploymentQueue,
  deploymentParametersOnServer,
  runParameters,
  deploymentPool,
  deploymentSecrets,
  deploymentVariables,
  deploymentBlocks,
  deploymentGlobalLimit,
  blockReferences,
  prunedPoolInUse,
];

/**
 * Rules about the inputs alone (two declarations that cannot both hold), which need no server:
 * checked on every input before any request, whatever `--only` selects.
 */
const INPUT_CONFLICTS: readonly ReferenceRule[] = [automationNamedLikeTrigger, secretDeclaredTwice];

/** What the inputs declare that cannot hold together; errors before any request, for every command. */
export function checkInputConflicts(desired: DesiredSet): ConfigIssue[] {
  return checkReferencesOffline(desired, INPUT_CONFLICTS);
}

/** Offline: every reference to what the inputs do not declare is a warning. */
export function checkReferencesOffline(desired: DesiredSet, rules: readonly ReferenceRule[] = REFERENCE_RULES): ConfigIssue[] {
  const context: RuleContext = {
    desired,
    find: <D, C>(kind: KindDefinition<D, C>, key: string): Found<D, C> => {
      const declared = desired.find(kind, key);
      return declared !== undefined ? { state: 'declared', desired: declared } : { state: 'unknown' };
    },
    deleting: () => false,
    onServer: () => undefined,
    offline: true,
  };
  return rules.flatMap((rule) => rule.check(context));
}

/**
 * After the plan: what the inputs do not declare is looked for among what the plan read, then
 * on the server, in bulk per kind (the kind's `lookup`). Sends reads only.
 */
export async function checkReferences(api: Api, desired: DesiredSet, plan: Plan, rules: readonly ReferenceRule[] = REFERENCE_RULES): Promise<ConfigIssue[]> {
  const wanted = new Map<string, { kind: AnyKind; keys: Set<string> }>();
  for (const { kind, key } of rules.flatMap((rule) => rule.targets(desired))) {
    if (desired.has(kind, key) || plan.work.get(kind.name)?.current.has(key)) continue;
    const entry = wanted.get(kind.name) ?? { kind, keys: new Set<string>() };
    entry.keys.add(key);
    wanted.set(kind.name, entry);
  }
  const onServer = new Map<string, Map<string, unknown>>();
  await Promise.all(
    [...wanted.values()].map(async ({ kind, keys }) => {
      const lookup = kind.reconcile().lookup;
      if (!lookup) throw new Error(`kind ${kind.name} is referred to but has no lookup`);
      onServer.set(kind.name, await lookup(api, [...keys]));
    }),
  );
  const deletions = new Set(plan.kinds.flatMap((kind) => kind.items.filter((item) => item.action === 'delete').map((item) => `${item.kind}\u0000${item.key}`)));
  /** What the plan read of the kind, or else what the lookups found. */
  const serverCopy = <D, C>(kind: KindDefinition<D, C>, key: string): C | undefined =>
    (plan.work.get(kind.name)?.current.get(key) ?? onServer.get(kind.name)?.get(key)) as C | undefined;
  const context: RuleContext = {
    desired,
    find: <D, C>(kind: KindDefinition<D, C>, key: string): Found<D, C> => {
      const declared = desired.find(kind, key);
      if (declared !== undefined) return { state: 'declared', desired: declared };
      const current = serverCopy(kind, key);
      return current !== undefined ? { state: 'server', current } : { state: 'missing' };
    },
    deleting: (kind, key) => deletions.has(`${kind.name}\u0000${key}`),
    onServer: serverCopy,
    offline: false,
  };
  const facts = await Promise.all(rules.map((rule) => (rule.read ? rule.read(api, desired) : Promise.resolve(undefined))));
  return rules.flatMap((rule, index) => rule.check(context, facts[index]));
}
