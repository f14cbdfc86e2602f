// How the parameter schema Prefect derives from a signature changed between releases. Each
// difference is one named rule with the release that brought it; a flow's schema is derived for the
// Prefect the deployment goes to (the server's release, or --prefect-version; the pinned release
// offline). test/python/versions.test.ts holds a case for each rule, and
// test/real/python-parity.test.ts compares whole schemas with the real releases.
import { olderThan } from '../reconcile/versions.js';

export interface SchemaRule {
  /** The first Prefect release that derives the schema this way. */
  since: string;
  /** What changed, as a user would want to read it. */
  what: string;
}

export const SCHEMA_RULES = {
  /**
   * prefect.utilities.callables.process_v2_params, 3.9.0: `*args: T` becomes `list[T]` and
   * `**kwargs: T` becomes `dict[str, T]`, each with an empty default, so neither is required.
   * Before, each was a required property of type T.
   */
  variadicCollections: {
    since: '3.9.0',
    what: '`*args` is an array and `**kwargs` an object, each with an empty default and not required (before: a required property of the annotated type)',
  },
  /**
   * pydantic 2.14 writes `Decimal` as `anyOf: [number, string]`, without the pattern of the string
   * that 2.13 adds. That is pydantic's release, not Prefect's: the rule follows the Prefect release
   * because the newest Prefect installs the newest pydantic (as the test environments pair them:
   * 3.7.2 with 2.13, 3.9.1 with 2.14); either way the schema accepts the same decimals.
   */
  decimalWithoutPattern: {
    since: '3.9.0',
    what: '`Decimal` is `anyOf: [number, string]` without the pattern of the string (pydantic 2.14, which the newest Prefect installs)',
  },
} as const satisfies Record<string, SchemaRule>;

export type SchemaRuleName = keyof typeof SCHEMA_RULES;

/** Which rules apply to a release; a version this cannot read (a dev build) gets them all. */
export type SchemaRules = Record<SchemaRuleName, boolean>;

export function schemaRulesFor(prefectVersion: string): SchemaRules {
  const rules = {} as SchemaRules;
  for (const [name, rule] of Object.entries(SCHEMA_RULES) as Array<[SchemaRuleName, SchemaRule]>) rules[name] = !olderThan(prefectVersion, rule.since);
  return rules;
}

/** Whether two releases derive every schema alike. */
export function sameSchemaRules(a: string, b: string): boolean {
  const left = schemaRulesFor(a);
  const right = schemaRulesFor(b);
  return (Object.keys(SCHEMA_RULES) as SchemaRuleName[]).every((name) => left[name] === right[name]);
}
