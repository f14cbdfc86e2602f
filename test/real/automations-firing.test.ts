// Automations applied from a file do fire: on a server with its services running (the triggers
// and actions services), a failed flow run of deployment A makes a flow run of B, and a custom
// event makes the run a deployment trigger asks for. Waits are bounded polls, never a fixed sleep.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefectPin, startPrefectServer, type PrefectServer } from '../../scripts/prefect-env.js';
import { EXIT } from '../../src/exit-codes.js';
import { runCli } from '../helpers/cli.js';
import { getJson, postJson, readAutomations } from '../shared/server.js';

let server: PrefectServer;
beforeAll(async () => {
  server = await startPrefectServer({ pin: prefectPin(), services: true });
});
afterAll(async () => {
  await server?.stop();
});

const YAML = `deployments:
  - name: dep-a
    flow_name: firing-flow
    entrypoint: flows/f.py:a
    work_pool: {name: firing-pool}
  - name: dep-b
    flow_name: firing-flow
    entrypoint: flows/f.py:a
    work_pool: {name: firing-pool}
  - name: dep-c
    flow_name: firing-flow
    entrypoint: flows/f.py:a
    work_pool: {name: firing-pool}
    triggers:
      - name: on-ping
        expect: [openem.test.ping]
        match: {prefect.resource.id: openem.test.thing}
        parameters: {who: "{{ event.resource.id }}"}
automations:
  - name: run-b-when-a-fails
    trigger:
      expect: [prefect.flow-run.Failed]
      match_related:
        prefect.resource.role: deployment
        prefect.resource.id: "prefect.deployment.{{ $DEP_A_ID }}"
    actions:
      - type: run-deployment
        deployment: firing-flow/dep-b
`;

async function runsOf(deploymentId: string): Promise<Array<{ id: string; parameters: Record<string, unknown> }>> {
  return postJson(server.apiUrl, '/flow_runs/filter', { flow_runs: {}, deployments: { id: { any_: [deploymentId] } }, limit: 50, offset: 0 });
}

/** Polls until `check` gives a value, at most `ms`. */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('automations applied from a file fire', () => {
  it('runs B when a flow run of A fails, and runs C when its trigger event comes; a second apply keeps every id', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'openem-firing-'));
    writeFileSync(join(dir, 'limits.toml'), '[work_pools.firing-pool]\ntype = "process"\n');
    writeFileSync(join(dir, 'prefect.yaml'), YAML);
    const args = ['-l', join(dir, 'limits.toml'), '-d', join(dir, 'prefect.yaml')];
    const env = { PREFECT_API_URL: server.apiUrl, DEP_A_ID: '00000000-0000-0000-0000-000000000000' };
    // Deployments first, so that A's id can be written into the automation's trigger.
    const deployments = await runCli(['apply', ...args], { env });
    expect(deployments.code, deployments.stderr).toBe(EXIT.ok);
    const id = async (name: string) => (await getJson<{ id: string }>(server.apiUrl, `/deployments/name/firing-flow/${name}`)).id;
    const [a, b, c] = [await id('dep-a'), await id('dep-b'), await id('dep-c')];
    const applied = await runCli(['apply', ...args], { env: { ...env, DEP_A_ID: a } });
    expect(applied.code, applied.stderr).toBe(EXIT.ok);
    const before = Object.fromEntries(Object.entries(await readAutomations(server.apiUrl)).map(([name, automation]) => [name, automation.id]));

    // A flow run of A, set to Failed through the API.
    const run = await postJson<{ id: string }>(server.apiUrl, `/deployments/${a}/create_flow_run`, {});
    await postJson(server.apiUrl, `/flow_runs/${run.id}/set_state`, { state: { type: 'FAILED', name: 'Failed' }, force: true });
    const runOfB = await eventually('a flow run of B', async () => (await runsOf(b))[0]);
    expect(runOfB.id).toBeTruthy();

    // A custom event: deployment C's trigger runs it, with the event in its parameters.
    const response = await fetch(`${server.apiUrl}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ id: crypto.randomUUID(), occurred: new Date().toISOString(), event: 'openem.test.ping', resource: { 'prefect.resource.id': 'openem.test.thing' } }]),
    });
    expect(response.status).toBe(204);
    const runOfC = await eventually('a flow run of C', async () => (await runsOf(c))[0]);
    expect(runOfC.parameters).toEqual({ who: 'openem.test.thing' });

    const again = await runCli(['apply', ...args], { env: { ...env, DEP_A_ID: a } });
    expect(again.code, again.stderr).toBe(EXIT.ok);
    expect(again.writes).toEqual([]);
    const after = Object.fromEntries(Object.entries(await readAutomations(server.apiUrl)).map(([name, automation]) => [name, automation.id]));
    expect(after).toEqual(before);
  });
});
