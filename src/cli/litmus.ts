// `faultline litmus`: later work. Its owner replaces this file with the command.

import { laterCommand } from './common.js';

export const litmus = laterCommand('litmus', 'faultline litmus [NAME|--list] [--iterations N]');
