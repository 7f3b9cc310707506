// `faultline explore`: later work. Its owner replaces this file with the command.

import { laterCommand } from './common.js';

export const explore = laterCommand('explore', 'faultline explore NAME [--preemptions 2]');
