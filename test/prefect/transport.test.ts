// The node:http transport against a real loopback HTTP server: what it must do the way fetch does.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createNodeTransport } from '../../src/prefect/transport.js';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

let server: Server;
let base: string;
let handler: Handler;
const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string; socket: number }> = [];
const sockets = new WeakMap<object, number>();
let socketCount = 0;

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (!sockets.has(request.socket)) sockets.set(request.socket, (socketCount += 1));
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: request.method!, url: request.url!, headers: request.headers, body, socket: sockets.get(request.socket)! });
      handler(request, body, response);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

const transport = createNodeTransport({});
afterEach(() => {
  seen.length = 0;
});
afterAll(() => transport.close());

const json = (response: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(value));
};

describe('node transport', () => {
  it('sends method, headers and body, and answers status, headers and body like fetch', async () => {
    handler = (_request, body, response) => json(response, 201, { echoed: JSON.parse(body) }, { 'x-thing': 'yes' });
    const response = await transport.fetch(
      new Request(`${base}/api/variables/`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Basic abc' }, body: '{"name":"a"}' }),
    );
    expect(response.status).toBe(201);
    expect(response.headers.get('x-thing')).toBe('yes');
    expect(await response.json()).toEqual({ echoed: { name: 'a' } });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/variables/', body: '{"name":"a"}' });
    expect(seen[0]!.headers).toMatchObject({ authorization: 'Basic abc', 'content-type': 'application/json', 'content-length': '12' });
  });

  it('keeps one connection alive for sequential requests', async () => {
    handler = (_request, _body, response) => json(response, 200, []);
    for (let i = 0; i < 5; i += 1) await (await transport.fetch(new Request(`${base}/api/health`))).text();
    expect(new Set(seen.map((s) => s.socket)).size).toBe(1);
  });

  it('decodes a gzip body and hands on a null body for 204', async () => {
    handler = (request, _body, response) => {
      if (request.url === '/gz') response.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'application/json' }).end(gzipSync('{"a":1}'));
      else response.writeHead(204).end();
    };
    const gz = await transport.fetch(new Request(`${base}/gz`));
    expect(seen[0]!.headers['accept-encoding']).toContain('gzip');
    expect(gz.headers.get('content-encoding')).toBeNull();
    expect(await gz.json()).toEqual({ a: 1 });
    const empty = await transport.fetch(new Request(`${base}/none`, { method: 'DELETE' }));
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it('decodes as fetch does: deflate with and without its header, a truncated gzip, nothing to decode for HEAD, 204 or an empty body', async () => {
    const text = JSON.stringify({ items: Array.from({ length: 50 }, (_, i) => `item-${i}`) });
    handler = (request, _body, response) => {
      const gz = { 'content-encoding': 'gzip', 'content-type': 'application/json' };
      if (request.url === '/deflate') response.writeHead(200, { 'content-encoding': 'deflate' }).end(deflateSync(text));
      else if (request.url === '/raw-deflate') response.writeHead(200, { 'content-encoding': 'deflate' }).end(deflateRawSync(text));
      else if (request.url === '/truncated') {
        const whole = gzipSync(text);
        response.writeHead(200, gz).end(whole.subarray(0, whole.length - 8)); // without its trailer
      } else if (request.url === '/no-content') response.writeHead(204, gz).end();
      else if (request.url === '/empty') response.writeHead(200, { ...gz, 'content-length': '0' }).end();
      else response.writeHead(200, gz).end(request.method === 'HEAD' ? undefined : gzipSync(text));
    };
    expect(await (await transport.fetch(new Request(`${base}/deflate`))).text()).toBe(text);
    expect(await (await transport.fetch(new Request(`${base}/raw-deflate`))).text()).toBe(text);
    expect(await (await transport.fetch(new Request(`${base}/truncated`))).text()).toBe(text);
    const head = await transport.fetch(new Request(`${base}/head`, { method: 'HEAD' }));
    expect(head.status).toBe(200);
    expect((await transport.fetch(new Request(`${base}/no-content`, { method: 'DELETE' }))).status).toBe(204);
    expect(await (await transport.fetch(new Request(`${base}/empty`))).text()).toBe('');
    expect(seen.every((s) => s.headers['user-agent'] === 'openem-config')).toBe(true);
  });

  it('follows redirects: 307 keeps method and body, 303 turns into GET, credentials stay on their origin', async () => {
    const other = createServer((request, response) => {
      seen.push({ method: request.method!, url: `other:${request.url}`, headers: request.headers, body: '', socket: 0 });
      json(response, 200, { other: true });
    });
    await new Promise<void>((done) => other.listen(0, '127.0.0.1', done));
    const otherBase = `http://localhost:${(other.address() as { port: number }).port}`;
    handler = (request, _body, response) => {
      if (request.url === '/a') response.writeHead(307, { location: '/b' }).end();
      else if (request.url === '/b') response.writeHead(303, { location: '/c' }).end();
      else if (request.url === '/c') response.writeHead(302, { location: `${otherBase}/d` }).end();
      else json(response, 200, {});
    };
    try {
      const response = await transport.fetch(new Request(`${base}/a`, { method: 'POST', headers: { authorization: 'Bearer k', 'content-type': 'application/json' }, body: '{}' }));
      expect(await response.json()).toEqual({ other: true });
      expect(seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /a {}', 'POST /b {}', 'GET /c ', 'GET other:/d ']);
      expect(seen[2]!.headers.authorization).toBe('Bearer k');
      expect(seen[3]!.headers.authorization).toBeUndefined();
    } finally {
      other.closeAllConnections();
      await new Promise((done) => other.close(done));
    }
  });

  it('rejects with the signal reason when the answer is slower than the timeout', async () => {
    handler = (_request, _body, response) => setTimeout(() => json(response, 200, {}), 2_000);
    const error = await transport.fetch(new Request(`${base}/slow`, { signal: AbortSignal.timeout(50) })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect((error as DOMException).name).toBe('TimeoutError');
  });

  it('rejects as fetch does when nothing listens: TypeError with the system error as cause', async () => {
    const probe = createServer();
    await new Promise<void>((done) => probe.listen(0, '127.0.0.1', done));
    const port = (probe.address() as { port: number }).port;
    await new Promise((done) => probe.close(done));
    const error = await transport.fetch(new Request(`http://127.0.0.1:${port}/api/health`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError & { cause: { code: string } }).cause.code).toBe('ECONNREFUSED');
  });

  it('rejects when the connection is cut in the middle of the body', async () => {
    handler = (_request, _body, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      response.write('[{"name":');
      setTimeout(() => response.socket?.destroy(), 20);
    };
    const error = await transport.fetch(new Request(`${base}/cut`)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError & { cause: { code: string; message: string } }).cause).toMatchObject({ code: 'ECONNRESET', message: 'the connection closed in the middle of the answer' });
  });
});

describe('node transport and proxies', () => {
  it('goes through HTTP_PROXY only with NODE_USE_ENV_PROXY=1 or --use-env-proxy, as fetch does', async () => {
    const proxied: string[] = [];
    const proxy = createServer((request, response) => {
      proxied.push(request.url!);
      json(response, 200, { via: 'proxy' });
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    handler = (_request, _body, response) => json(response, 200, { via: 'direct' });
    const target = `http://target.example.invalid:${new URL(base).port}/api/health`;
    const withProxy = createNodeTransport({ NODE_USE_ENV_PROXY: '1', HTTP_PROXY: proxyUrl }, []);
    const withoutOptIn = createNodeTransport({ HTTP_PROXY: proxyUrl }, []);
    const withFlag = createNodeTransport({ HTTP_PROXY: proxyUrl, NODE_OPTIONS: '--use-env-proxy' }, []);
    try {
      expect(await (await withProxy.fetch(new Request(target))).json()).toEqual({ via: 'proxy' });
      expect(proxied).toEqual([target]);
      expect(await (await withFlag.fetch(new Request(target))).json()).toEqual({ via: 'proxy' });
      expect(proxied).toEqual([target, target]);
      // Without the opt-in the proxy is not used: the made-up host does not resolve.
      const error = await withoutOptIn.fetch(new Request(target)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(proxied).toHaveLength(2);
    } finally {
      withProxy.close();
      withoutOptIn.close();
      withFlag.close();
      proxy.closeAllConnections();
      await new Promise((done) => proxy.close(done));
    }
  });
});
