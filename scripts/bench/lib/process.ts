// Runs one command and measures it: wall time (from just before spawn to exit), peak RSS, exit
// code and output. Peak RSS comes from GNU time (`/usr/bin/time -v`, "Maximum resident set size")
// when it is installed, otherwise from polling VmHWM in /proc/<pid>/status of the child.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const GNU_TIME = '/usr/bin/time';

export interface Measured {
  /** Milliseconds from just before spawn until the process exited. */
  wallMs: number;
  /** Peak resident set size in kB (the largest single process: the command itself). */
  maxRssKb: number;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** performance.now() just before spawn, to relate to request timestamps of the counting proxy. */
  startedAt: number;
  /** For a sequence: the wall time of each step. */
  stepsMs?: number[];
}

export interface RunSpec {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** Kills the process after this long; the measurement then fails. */
  timeoutMs?: number;
}

export function rssSource(): string {
  return existsSync(GNU_TIME) ? 'GNU time -v (max RSS)' : 'VmHWM of /proc/<pid>/status, polled every 10 ms';
}

let sequence = 0;

export async function measure(spec: RunSpec): Promise<Measured> {
  const useTime = existsSync(GNU_TIME);
  const timeFile = join(tmpdir(), `openem-bench-time-${process.pid}-${sequence++}.txt`);
  const [command, args] = useTime ? [GNU_TIME, ['-v', '-o', timeFile, spec.command, ...spec.args]] : [spec.command, spec.args];
  const startedAt = performance.now();
  const child = spawn(command, args, { env: spec.env, cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  let polledKb = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        try {
          const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
          const match = /VmHWM:\s+(\d+)/.exec(status);
          if (match) polledKb = Math.max(polledKb, Number(match[1]));
        } catch {
          /* exited between two polls */
        }
      }, 10);
  const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs ?? 15 * 60_000);
  const exitCode = await new Promise<number>((done, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => done(code ?? (signal ? 128 : 1)));
  });
  const wallMs = performance.now() - startedAt;
  clearTimeout(timer);
  if (poll) clearInterval(poll);
  let maxRssKb = polledKb;
  if (useTime) {
    const report = existsSync(timeFile) ? readFileSync(timeFile, 'utf8') : '';
    rmSync(timeFile, { force: true });
    const match = /Maximum resident set size \(kbytes\): (\d+)/.exec(report);
    maxRssKb = match ? Number(match[1]) : 0;
  }
  return { wallMs, maxRssKb, exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), startedAt };
}

/** Runs the steps one after the other, as a shell script would: wall times add up, RSS is the largest step's. */
export async function measureSequence(steps: RunSpec[], what: string): Promise<Measured> {
  let total: Measured | undefined;
  for (const step of steps) {
    const result = await measure(step);
    if (result.exitCode !== 0) {
      throw new Error(`${what}: ${step.command} ${step.args.join(' ')} exited ${result.exitCode}:\n${tail(result.stderr || result.stdout)}`);
    }
    total = total
      ? {
          wallMs: total.wallMs + result.wallMs,
          maxRssKb: Math.max(total.maxRssKb, result.maxRssKb),
          exitCode: 0,
          stdout: total.stdout + result.stdout,
          stderr: total.stderr + result.stderr,
          startedAt: total.startedAt,
          stepsMs: [...(total.stepsMs ?? []), result.wallMs],
        }
      : { ...result, stepsMs: [result.wallMs] };
  }
  if (!total) throw new Error(`${what}: no steps`);
  return total;
}

export function tail(text: string, lines = 25): string {
  return text.split('\n').slice(-lines).join('\n');
}
