// Reads the small text files the loaders take as input, turning every way a path can be wrong into an issue.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { IssueList } from '../errors.js';

export interface ReadTextOptions {
  /** Larger files are refused without being read whole. */
  maxBytes: number;
  /** What the file is for, as messages name it: `vars file`, `secret file`. */
  what: string;
  /** The flag or key the path came from, reported with every issue. */
  key?: string | undefined;
  rejectEmpty?: boolean;
}

const CHUNK_BYTES = 64 * 1024;

/** The file's text, or `undefined` after reporting why it cannot be used. */
export function readTextFile(path: string, options: ReadTextOptions, issues: IssueList): string | undefined {
  const { what, maxBytes } = options;
  const at = { file: path, key: options.key };
  let fd: number;
  try {
    // O_NONBLOCK: opening a fifo must not wait for a writer; fstat rejects it right after.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    issues.error(at, describeFsError(error, what));
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) {
      issues.error(at, `${what} is a directory; give the path of a file`);
      return undefined;
    }
    if (!stat.isFile()) {
      issues.error(at, `${what} is not a regular file (a fifo, socket or device); give the path of a regular file`);
      return undefined;
    }
    // Checked again after reading: some files (procfs, growing files) report a size that is not what a read returns.
    const bytes = stat.size > maxBytes ? undefined : readAtMost(fd, maxBytes + 1);
    if (bytes === undefined || bytes.length > maxBytes) {
      issues.error(at, `${what} is larger than ${formatBytes(maxBytes)}; give the path of the right file or make it smaller`);
      return undefined;
    }
    if (bytes.length === 0 && options.rejectEmpty) {
      issues.error(at, `${what} is empty; check that the path names the intended file`);
      return undefined;
    }
    try {
      // The decoder drops a leading UTF-8 byte order mark (ignoreBOM defaults to false).
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      issues.error(at, `${what} is not valid UTF-8; save it with UTF-8 encoding`);
      return undefined;
    }
  } catch (error) {
    issues.error(at, describeFsError(error, what));
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** A message for a failed open, read or readdir, saying what to check. */
export function describeFsError(error: unknown, what: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return `${what} not found; check the path`;
    case 'ENOTDIR':
      return `${what}: the path or a part of it is not a directory; check the path`;
    case 'EACCES':
    case 'EPERM':
      return `${what} is not readable (permission denied); make it readable by the user this program runs as`;
    case 'ELOOP':
      return `${what} path is a symlink loop; point it at a real file`;
    case 'ENXIO':
      // Opening a Unix socket fails this way.
      return `${what} is not a regular file (a socket or device); give the path of a regular file`;
    default:
      return `cannot read ${what}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function readAtMost(fd: number, limit: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const chunk = Buffer.alloc(Math.min(CHUNK_BYTES, limit - total));
    const read = readSync(fd, chunk, 0, chunk.length, null);
    if (read === 0) break;
    chunks.push(chunk.subarray(0, read));
    total += read;
  }
  return Buffer.concat(chunks, total);
}

function formatBytes(bytes: number): string {
  const mib = 1024 * 1024;
  return bytes % mib === 0 ? `${bytes / mib} MiB` : `${bytes} bytes`;
}
