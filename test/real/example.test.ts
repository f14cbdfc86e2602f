// The example configuration against a real Prefect server started by the harness.
import { inject } from 'vitest';
import { defineExampleCases } from '../shared/example-cases.js';

defineExampleCases({ apiUrl: () => inject('prefectApiUrl') });
