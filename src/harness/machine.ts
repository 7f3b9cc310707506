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

/**
 * The report's first lines: the machine, then the core count, with the small-machine caveat
 * when the run used more threads than there are cores.
 */
export function machineLines(m: MachineInfo, maxThreads: number): string[] {
  const cores = `ran on ${m.cores} core${m.cores === 1 ? '' : 's'}`;
  return [
    `machine: ${m.cpuModel}, node ${m.node}, ${m.os}`,
    maxThreads > m.cores ? `${cores}: scaling figures need a bigger machine` : cores,
  ];
}
