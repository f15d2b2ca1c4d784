/**
 * When a write batcher flushes: at once when a full batch is waiting, else `flushMs`
 * after the first write of a quiet moment; never more than `maxInFlight` flushes at once
 * (a finishing flush looks at the queue again, so what gathered meanwhile goes out as
 * the next, larger batch). The batcher owns its queue; this owns the timing.
 */
export class FlushScheduler {
  private timer?: NodeJS.Timeout;
  private inFlight = 0;

  constructor(
    private readonly opts: {
      flushMs: number;
      maxInFlight: number;
      /** Something is queued. */
      pending(): boolean;
      /** A full batch is queued. */
      full(): boolean;
      /** Takes one batch from the queue and writes it. */
      flush(): Promise<void>;
    },
  ) {}

  /** Called after each write joins the queue. */
  schedule(): void {
    if (this.inFlight >= this.opts.maxInFlight) return;
    if (this.opts.full()) {
      clearTimeout(this.timer);
      this.timer = undefined;
      void this.run();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.run();
      }, this.opts.flushMs);
    }
  }

  private async run(): Promise<void> {
    if (!this.opts.pending()) return;
    this.inFlight++;
    try {
      await this.opts.flush();
    } finally {
      this.inFlight--;
      if (this.opts.pending()) this.schedule();
    }
  }

  /** Writes whatever is queued and waits for every flush (shutdown). */
  async drain(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.opts.pending() || this.inFlight > 0) {
      if (this.opts.pending() && this.inFlight < this.opts.maxInFlight) void this.run();
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}
