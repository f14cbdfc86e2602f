// Where the Prefect API is and how to authenticate, from the environment as Prefect reads it.
import { IssueList } from '../errors.js';
import { readTextFile } from './files.js';

export interface Connection {
  apiUrl: string;
  apiKey?: string | undefined;
  authString?: string | undefined;
}

const COMMAND_LINE = '<environment>';

/** A credential from NAME, or from the file named by NAME_FILE (Docker and Kubernetes secrets). */
function credential(env: Record<string, string | undefined>, name: string, issues: IssueList): string | undefined {
  const direct = env[name];
  const path = env[`${name}_FILE`];
  if (direct && path) {
    issues.error({ file: COMMAND_LINE, key: name }, `both ${name} and ${name}_FILE are set; keep one`);
    return undefined;
  }
  if (direct) return direct;
  if (!path) return undefined;
  const text = readTextFile(path, { maxBytes: 64 * 1024, what: `${name}_FILE`, rejectEmpty: true }, issues);
  return text?.replace(/\r?\n$/, '');
}

export function loadConnection(
  env: Record<string, string | undefined>,
  apiUrlFlag: string | undefined,
  issues: IssueList,
): Connection | undefined {
  const raw = apiUrlFlag ?? env.PREFECT_API_URL;
  const source = { file: apiUrlFlag ? '<command line>' : COMMAND_LINE, key: apiUrlFlag ? '--api-url' : 'PREFECT_API_URL' };
  const apiKey = credential(env, 'PREFECT_API_KEY', issues);
  const authString = credential(env, 'PREFECT_API_AUTH_STRING', issues);
  if (authString !== undefined && !authString.includes(':')) {
    issues.error({ file: COMMAND_LINE, key: 'PREFECT_API_AUTH_STRING' }, 'must have the form user:password');
  }
  if (!raw) {
    issues.error(source, 'is not set: set PREFECT_API_URL to the Prefect API, e.g. http://prefect-server:4200/api');
    return undefined;
  }
  // Checked on the text: the URL parser reads `http:///api` as the host `api`, and Node's HTTP
  // client takes port 0 for the scheme's default port.
  // Quoted in messages without any `user:password@` part: the URL may carry credentials.
  const shown = raw.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1(credentials)@');
  const authority = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(raw)?.[1];
  const host = authority?.replace(/^.*@/, '').replace(/:\d*$/, '');
  if (authority !== undefined && !host) {
    issues.error(source, `"${shown}" has no host; expected e.g. http://prefect-server:4200/api`);
    return undefined;
  }
  const port = /:(\d+)$/.exec(authority?.replace(/^.*@/, '') ?? '')?.[1];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
    issues.error(source, `"${shown}" has port ${port}; a port is between 1 and 65535, e.g. http://prefect-server:4200/api`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    issues.error(source, `"${shown}" is not a URL; expected e.g. http://prefect-server:4200/api`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    issues.error(source, `"${shown}" must be an http:// or https:// URL, e.g. http://prefect-server:4200/api`);
    return undefined;
  }
  if (url.username || url.password) {
    issues.error(source, 'must not carry credentials; use PREFECT_API_AUTH_STRING or PREFECT_API_KEY');
    return undefined;
  }
  if (url.search || url.hash) {
    issues.error(source, 'must not have a query string or fragment');
    return undefined;
  }
  return { apiUrl: url.toString().replace(/\/+$/, ''), apiKey, authString };
}
