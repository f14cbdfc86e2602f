// The global limit cases against the msw fake: the same assertions as against the real server.
import { defineGlobalLimitCases } from '../shared/global-limit-cases.js';
import { useFake } from './use-fake.js';

const { fake } = useFake();

defineGlobalLimitCases({ apiUrl: () => fake.baseUrl });
