// What machine a result came from: printed at the top of every report and saved with baselines.

import { availableParallelism, cpus, platform, release } from 'node:os';

export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly os: string;
}

export function machineInfo(): MachineInfo {
  const model = cpus()[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown';
  return {
    cores: availableParallelism(),
    cpuModel: model === '' ? 'unknown' : model,
    node: process.version,
    os: `${platform()} ${release()}`,
  };
}

/** The report's first line, with the small-machine caveat when threads outnumber cores. */
export function machineLine(m: MachineInfo, maxThreads: number): string {
  const base = `ran on ${m.cores} core${m.cores === 1 ? '' : 's'} (${m.cpuModel}), node ${m.node}, ${m.os}`;
  return maxThreads > m.cores ? `${base}: scaling figures need a bigger machine` : base;
}
