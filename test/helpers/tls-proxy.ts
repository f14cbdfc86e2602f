// A loopback HTTPS reverse proxy in front of a real Prefect server, with certificates from a private
// CA made on the spot with the openssl command line: what a server behind a company CA looks like.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

export interface TestCertificates {
  dir: string;
  /** PEM of the private CA, what NODE_EXTRA_CA_CERTS points at. */
  caFile: string;
  /** Key and certificate (PEM) of the server, signed by the CA. */
  key: string;
  cert: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/**
 * A CA and a server certificate signed by it for the given names (default 127.0.0.1 and localhost).
 * EC keys: generated in milliseconds.
 */
export function makeTestCertificates(altNames = 'IP:127.0.0.1,DNS:localhost'): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'openem-tls-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=openem-config test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=openem-config test server'], dir);
  writeFileSync(
    join(dir, 'server.ext'),
    `subjectAltName=${altNames}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n`,
  );
  openssl(
    ['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'],
    dir,
  );
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    key: readFileSync(join(dir, 'server.key'), 'utf8'),
    cert: readFileSync(join(dir, 'server.pem'), 'utf8'),
  };
}

/** HTTPS on 127.0.0.1 in front of `target` (http://127.0.0.1:<port>/api); faults can be injected as with the plain proxy. */
export function startTlsProxy(options: { target: string; certificates: TestCertificates }): Promise<FaultProxy> {
  return startFaultProxy({ target: options.target, tls: { key: options.certificates.key, cert: options.certificates.cert } });
}
