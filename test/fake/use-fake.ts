// The msw fake for one test file: listening for the file, emptied before each test.
import { setupServer } from 'msw/node';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { createPrefectFake } from './prefect-fake.js';

export function useFake() {
  const fake = createPrefectFake();
  const server = setupServer(...fake.handlers);
  beforeAll(() => server.listen({ onUnhandledFrame: 'error' }));
  beforeEach(() => fake.reset());
  afterAll(() => server.close());
  return { fake, server };
}
