// The progress bar: on a terminal only (stderr), one line redrawn in place; nothing at all when
// stderr is not a TTY or --no-progress is given.

export interface ProgressSink {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(s: string): boolean;
}

export class Progress {
  private readonly on: boolean;
  private runIndex = 0;
  private label = '';
  private fraction = 0;
  private lastDraw = 0;

  constructor(
    private readonly totalRuns: number,
    enabled: boolean,
    private readonly out: ProgressSink = process.stderr,
  ) {
    this.on = enabled && out.isTTY === true && totalRuns > 0;
  }

  /** A new run starts (0-based index), described by label. */
  start(index: number, label: string): void {
    this.runIndex = index;
    this.label = label;
    this.fraction = 0;
    this.draw(true);
  }

  /** The current run is `f` (0..1) done. */
  update(f: number): void {
    this.fraction = Math.min(1, Math.max(0, f));
    this.draw(false);
  }

  /** Clear the line (before printing the report or an error). */
  done(): void {
    if (this.on) this.out.write('\r\x1b[2K');
  }

  private draw(force: boolean): void {
    if (!this.on) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const whole = (this.runIndex + this.fraction) / this.totalRuns;
    const width = 24;
    const filled = Math.round(whole * width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
    const line = `${bar} ${this.runIndex + 1}/${this.totalRuns} ${this.label}`;
    const cols = this.out.columns !== undefined && this.out.columns > 0 ? this.out.columns : 80;
    this.out.write(`\r\x1b[2K${line.slice(0, Math.max(10, cols - 1))}`);
  }
}
