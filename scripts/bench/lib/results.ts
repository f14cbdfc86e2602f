// The shape of one benchmark run's results: what main.ts measures and report.ts renders.
import type { RouteCount } from './proxy.js';
import type { ScaleShape } from './generate.js';

export interface Sample {
  wallMs: number;
  maxRssKb: number;
  reads?: number;
  writes?: number;
  /** openem-config: HTTP retries it logged. */
  retries?: number;
  failed?: number;
  /** For a sequence of processes: each step's wall time. */
  stepsMs?: number[];
  /** The floor: time spent in its request loop, without process start-up. */
  requestMs?: number;
}

export interface Counted {
  reads: number;
  writes: number;
  routes: RouteCount[];
  /** From just before spawn to the first request arriving at the counting proxy. */
  firstRequestMs?: number;
  wallMs: number;
}

export type ToolName = 'openem-config' | 'prefect-sdk' | 'floor';

export interface ExampleCase {
  tool: ToolName;
  mode: 'cold' | 'noop';
  samples: Sample[];
  counted?: Counted;
}

export interface ScaleCase {
  series: 'mixed' | 'variables';
  size: number;
  shape: ScaleShape;
  cold: Sample[];
  noop: Sample[];
  floorNoop: Sample[];
  noopRoutes?: RouteCount[];
  /** The rule of the issue: readiness checks (3) + one read per 200 objects of each kind. */
  expectedNoopReads: number;
}

export interface ConcurrencyCase {
  level: number;
  size: number;
  database: 'sqlite' | 'postgres';
  samples: Sample[];
}

export interface StartupVariant {
  name: string;
  version: Sample[];
  /** Example no-op through the counting proxy: spawn to first request, and the whole run. */
  firstRequestMs: number[];
  noopWallMs: number[];
}

export interface Results {
  startedAt: string;
  durationS: number;
  command: string;
  options: { runs: number; quick: boolean; cli?: string; nodeOptions?: string };
  machine: Record<string, string>;
  rssSource: string;
  /** The 1-minute load average sampled every 5 s during the run (the benchmark's own load included). */
  load?: { mean: number; max: number; samples: number };
  serverStarts: { count: number; meanMs: number };
  example?: { objects: Record<string, number>; cases: ExampleCase[]; cli?: { processes: number; cold: Counted & { maxRssKb: number }; noop: Counted & { maxRssKb: number } } };
  scale?: ScaleCase[];
  concurrency?: ConcurrencyCase[];
  startup?: { nodeBaseline: Sample[]; variants: StartupVariant[]; bundleBytes?: number };
}
