// The block cases against the msw fake: the same assertions as against the real server.
import { defineBlockCases } from '../shared/block-cases.js';
import { useFake } from './use-fake.js';

const { fake } = useFake();

defineBlockCases({ apiUrl: () => fake.baseUrl });
