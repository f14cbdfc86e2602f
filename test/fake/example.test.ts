// The shared cases against the msw fake: the same assertions as against the real server.
import { defineExampleCases } from '../shared/example-cases.js';
import { useFake } from './use-fake.js';

const { fake } = useFake();

defineExampleCases({ apiUrl: () => fake.baseUrl });
