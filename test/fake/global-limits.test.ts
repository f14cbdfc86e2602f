// The global limit cases against the msw fake: the same assertions as against the real server.
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { defineGlobalLimitCases } from '../shared/global-limit-cases.js';
import { createPrefectFake } from './prefect-fake.js';

const fake = createPrefectFake();
const server = setupServer(...fake.handlers);
beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
beforeEach(() => fake.reset());
afterAll(() => server.close());

defineGlobalLimitCases({ apiUrl: () => fake.baseUrl });
