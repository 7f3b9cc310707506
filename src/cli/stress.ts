// `faultline stress`: later work. Its owner replaces this file with the command.

import { laterCommand } from './common.js';

export const stress = laterCommand(
  'stress',
  'faultline stress [--scheme S|all] [--duration 60s] [--threads N] [--seed N] [--chaos] [--inject-bug B]',
);
