/**
 * Reconnect back-off for the daemon connection: exponential with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter", 2015), capped, with a limited number of attempts before the connection
 * gives up and asks the user (Retry / Start Daemon). Pure: the random source is injectable for tests.
 */

export interface BackoffOptions {
  /** Delay scale of the first retry, ms. */
  initialMs: number;
  /** Largest delay, ms. */
  maxMs: number;
  /** Growth per attempt. */
  factor: number;
  /** Attempts before giving up (the first connection attempt is not counted). */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000, factor: 2, maxAttempts: 8 };

export class Backoff {
  private attempt = 0;

  constructor(private readonly opts: BackoffOptions = DEFAULT_BACKOFF, private readonly random: () => number = Math.random) {
    if (!(opts.initialMs > 0) || !(opts.maxMs >= opts.initialMs) || !(opts.factor >= 1) || !(opts.maxAttempts >= 0)) {
      throw new Error(`backoff options ${JSON.stringify(opts)}: need initialMs > 0, maxMs ≥ initialMs, factor ≥ 1, maxAttempts ≥ 0`);
    }
  }

  /** Attempts used since the last reset. */
  get attempts(): number { return this.attempt; }

  /** Delay before the next attempt in ms, or undefined when the attempts are used up. */
  next(): number | undefined {
    if (this.attempt >= this.opts.maxAttempts) return undefined;
    const cap = Math.min(this.opts.maxMs, this.opts.initialMs * this.opts.factor ** this.attempt);
    this.attempt++;
    // Full jitter, but never below a tenth of the cap so a burst of retries cannot spin.
    return Math.round(cap * (0.1 + 0.9 * this.random()));
  }

  reset(): void { this.attempt = 0; }
}

/**
 * Restart policy after daemon crashes (as vscode-languageclient's: a few restarts per window, then stop
 * and tell the user). `now` is injectable for tests.
 */
export class CrashPolicy {
  private readonly crashes: number[] = [];

  constructor(readonly maxRestarts = 3, readonly windowMs = 3 * 60_000, private readonly now: () => number = Date.now) {}

  /** Records a crash; true when another automatic restart is allowed. */
  recordCrash(): boolean {
    const t = this.now();
    this.crashes.push(t);
    while (this.crashes.length && this.crashes[0] < t - this.windowMs) this.crashes.shift();
    return this.crashes.length <= this.maxRestarts;
  }

  get recentCrashes(): number { return this.crashes.length; }

  reset(): void { this.crashes.length = 0; }
}
