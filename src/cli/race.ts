// `faultline race`: later work. Its owner replaces this file with the command.

import { laterCommand } from './common.js';

export const race = laterCommand('race', 'faultline race [NAME|--list]');
