/**
 * Progress of a long run on stderr: step, loss (or any metrics), throughput and ETA.
 * On a terminal it is a live `cli-progress` bar; when stderr is not a TTY (CI, a pipe,
 * a log file) it prints one plain line at most every `plainEveryMs` (default 10 s) and
 * a final line, so logs stay short and readable.
 */
import cliProgress from 'cli-progress';
import { formatDuration } from '@tsgrad/nn';

export interface ProgressOptions {
  /** Shown before the bar, e.g. 'eva seed 0'. */
  label?: string;
  /** Items (examples, tokens) per step, to report items/s next to steps/s. */
  itemsPerStep?: number;
  /** Name of those items (default 'items'). */
  itemName?: string;
  /** Where to write (default process.stderr). */
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Force the live bar (true) or plain lines (false); default: whether `stream` is a TTY. */
  tty?: boolean;
  /** Minimum time between plain lines (default 10,000 ms). */
  plainEveryMs?: number;
  /** Clock in ms (for tests). */
  now?: () => number;
}

export type Metrics = Record<string, number>;

/** Re-exported from @tsgrad/nn, the one duration formatter ("1h02m", "3m05s", "42s"). */
export { formatDuration };

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (Number.isInteger(v) && a < 1e15) return String(v); // epoch 8, not 8.0000
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(3) : v.toFixed(4);
}

/**
 * A progress display for `total` steps.
 * @example
 * const p = new Progress(1000, { label: 'train', itemsPerStep: 64, itemName: 'ex' });
 * for (let step = 1; step <= 1000; step++) { ...; p.update(step, { loss }); }
 * p.stop();
 */
export class Progress {
  readonly total: number;
  private readonly label: string;
  private readonly opts: ProgressOptions;
  private readonly stream: NodeJS.WritableStream & { isTTY?: boolean };
  private readonly now: () => number;
  private readonly started: number;
  private readonly bar?: cliProgress.SingleBar;
  private lastPlain: number;
  private step = 0;
  private metrics: Metrics = {};
  private stopped = false;

  constructor(total: number, options: ProgressOptions = {}) {
    this.total = total;
    this.opts = options;
    this.label = options.label ?? 'progress';
    this.stream = options.stream ?? process.stderr;
    this.now = options.now ?? Date.now;
    this.started = this.now();
    this.lastPlain = this.started;
    const tty = options.tty ?? Boolean(this.stream.isTTY);
    if (tty) {
      this.bar = new cliProgress.SingleBar(
        {
          format: `${this.label} |{bar}| {value}/{total} {metrics} | {speed} | ETA {eta_text}`,
          stream: this.stream as NodeJS.WriteStream,
          hideCursor: true,
          clearOnComplete: false,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, this.payload());
    }
  }

  /** Steps per second since the start. */
  get rate(): number {
    const secs = (this.now() - this.started) / 1000;
    return secs > 0 ? this.step / secs : 0;
  }

  /** Seconds left at the average rate so far. */
  get eta(): number {
    return this.rate > 0 ? (this.total - this.step) / this.rate : Infinity;
  }

  /** Sets the absolute step (1-based count of steps done) and the latest metrics. */
  update(step: number, metrics: Metrics = {}): void {
    if (this.stopped) return;
    this.step = step;
    this.metrics = { ...this.metrics, ...metrics };
    if (this.bar) {
      this.bar.update(step, this.payload());
      return;
    }
    const t = this.now();
    if (t - this.lastPlain >= (this.opts.plainEveryMs ?? 10_000)) {
      this.lastPlain = t;
      this.stream.write(`${this.line()}\n`);
    }
  }

  /** Advances by `n` steps. */
  tick(n = 1, metrics: Metrics = {}): void {
    this.update(this.step + n, metrics);
  }

  /** Ends the display with a final line (total time and last metrics). */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bar) {
      this.bar.update(this.step, this.payload());
      this.bar.stop();
    } else {
      this.stream.write(`${this.line()} done in ${formatDuration((this.now() - this.started) / 1000)}\n`);
    }
  }

  private metricsText(): string {
    return Object.entries(this.metrics)
      .map(([k, v]) => `${k} ${formatValue(v)}`)
      .join(' ');
  }

  private speedText(): string {
    const r = this.rate;
    const items = this.opts.itemsPerStep ? ` ${(r * this.opts.itemsPerStep).toFixed(0)} ${this.opts.itemName ?? 'items'}/s` : '';
    return `${r.toFixed(2)} steps/s${items}`;
  }

  private payload(): Record<string, string> {
    return { metrics: this.metricsText(), speed: this.speedText(), eta_text: formatDuration(this.eta) };
  }

  private line(): string {
    const pct = this.total > 0 ? ((100 * this.step) / this.total).toFixed(0) : '100';
    const m = this.metricsText();
    return `[${this.label}] step ${this.step}/${this.total} (${pct}%)${m ? ` ${m}` : ''} | ${this.speedText()} | ETA ${formatDuration(this.eta)}`;
  }
}
