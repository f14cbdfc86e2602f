// The desired state read from the input files: plain data, validated, ready to diff.
import type { Source } from '../errors.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface DesiredVariable {
  /** The Prefect variable name: the file key in lower case. */
  name: string;
  value: JsonValue;
  tags: string[];
  source: Source;
}

export interface DesiredSecret {
  /** The Prefect block document name (slug `secret`). */
  name: string;
  /** The secret itself. Never log, print or put it in an error. */
  value: string;
  source: Source;
}

export interface DesiredTagLimit {
  tag: string;
  limit: number;
  source: Source;
}

export interface DesiredState {
  variables: DesiredVariable[];
  secrets: DesiredSecret[];
  tagLimits: DesiredTagLimit[];
}

/** The `Source.file` of a problem in a command-line argument rather than in a file. */
export const COMMAND_LINE = '<command line>';
