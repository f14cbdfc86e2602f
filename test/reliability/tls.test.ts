// TLS to a server behind a private CA: verification is on by default (a certificate the machine does
// not trust stops the run with exit 4 and names the certificate problem), and NODE_EXTRA_CA_CERTS
// makes the same server work. Node reads NODE_EXTRA_CA_CERTS at start-up only, so these tests run
// the built binary as a child process, against a loopback HTTPS proxy in front of a real server.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { EXIT } from '../../src/exit-codes.js';
import type { FaultProxy } from '../helpers/fault-proxy.js';
import { makeTestCertificates, startTlsProxy, type TestCertificates } from '../helpers/tls-proxy.js';
import { EXAMPLE_ENV, OLD_COMMAND_LINE, writeSecretFiles } from '../shared/example-cases.js';
import { clearServer, readState } from '../shared/server.js';
import { spawnCli } from './support.js';

const apiUrl = () => inject('prefectApiUrl');
let certificates: TestCertificates;
let otherName: TestCertificates;
let proxy: FaultProxy;
let wrongNameProxy: FaultProxy;

beforeAll(async () => {
  certificates = makeTestCertificates();
  // Signed by its own CA for a name that is not this host.
  otherName = makeTestCertificates('DNS:prefect.other.example.org');
  proxy = await startTlsProxy({ target: apiUrl(), certificates });
  wrongNameProxy = await startTlsProxy({ target: apiUrl(), certificates: otherName });
});
afterAll(async () => {
  await proxy?.close();
  await wrongNameProxy?.close();
  for (const made of [certificates, otherName]) if (made) rmSync(made.dir, { recursive: true, force: true });
});
beforeEach(async () => {
  proxy.reset();
  await clearServer(apiUrl());
});

const env = (url: string, extra: Record<string, string> = {}) => ({ PREFECT_API_URL: url, ...writeSecretFiles(), ...EXAMPLE_ENV, ...extra });

describe('TLS with a private CA', () => {
  it('refuses a certificate it cannot verify: exit 4, the certificate problem named, nothing sent', async () => {
    expect(proxy.apiUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/api$/);
    const result = await spawnCli(['--wait-timeout', '2', ...OLD_COMMAND_LINE], { env: env(proxy.apiUrl) });
    expect(result.code, result.stderr).toBe(EXIT.unreachable);
    expect(result.stderr).toContain(`error: the Prefect API at ${proxy.apiUrl} was not ready within 2 s (GET /health: UNABLE_TO_VERIFY_LEAF_SIGNATURE`);
    expect(result.stderr).toContain('NODE_EXTRA_CA_CERTS');
    // The handshake failed: no HTTP request reached the proxy, let alone the server.
    expect(proxy.requests).toEqual([]);
    expect((await readState(apiUrl())).variables).toEqual({});
  });

  it('converges through the same proxy once NODE_EXTRA_CA_CERTS names the CA', async () => {
    const trusted = env(proxy.apiUrl, { NODE_EXTRA_CA_CERTS: certificates.caFile });
    const result = await spawnCli(OLD_COMMAND_LINE, { env: trusted });
    expect(result.code, result.stderr).toBe(EXIT.ok);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('secrets: 6 created, 0 updated, 0 unchanged, 0 failed');
    expect(proxy.requests.filter((r) => r.method !== 'GET').length).toBeGreaterThan(0);
    const state = await readState(apiUrl());
    expect(Object.keys(state.variables)).toHaveLength(13);
    expect(Object.keys(state.secrets)).toHaveLength(6);
    const plan = await spawnCli(['plan', '--detailed-exitcode', ...OLD_COMMAND_LINE], { env: trusted });
    expect(plan.code, plan.stdout).toBe(EXIT.ok);
    expect(plan.stdout).toContain('No changes');
  });

  it('still checks the host name when the CA is trusted', async () => {
    const result = await spawnCli(['--wait-timeout', '2', ...OLD_COMMAND_LINE], {
      env: env(wrongNameProxy.apiUrl, { NODE_EXTRA_CA_CERTS: otherName.caFile }),
    });
    expect(result.code, result.stderr).toBe(EXIT.unreachable);
    expect(result.stderr).toContain('ERR_TLS_CERT_ALTNAME_INVALID');
    expect(wrongNameProxy.requests).toEqual([]);
  });
});
