/**
 * Writes frames to many sockets in bounded slices, one FIFO for the whole replica. Between slices the event
 * loop gets a turn (setImmediate), so broker heartbeats, consumption and REST-facing I/O never wait behind a
 * fan-out to thousands of sockets. One FIFO keeps every socket's frames in the order they were queued.
 */
export interface FanoutJob<T> {
  targets: readonly T[];
  /** Returns true when the frame went to (or was queued for) this target. */
  deliver: (target: T) => boolean;
  /** Called once every target had its turn, with how many took the frame. */
  done?: (delivered: number) => void;
}

interface Running<T> extends FanoutJob<T> {
  next: number;
  delivered: number;
}

export class FanoutQueue {
  // Jobs of different target types share the queue; each is only ever driven by its own deliver().
  private readonly jobs: Running<unknown>[] = [];
  private head = 0;
  private scheduled = false;
  private waiting = 0;

  constructor(
    /** Deliveries per loop turn. */
    private readonly sliceSize: number,
    private readonly defer: (run: () => void) => void = (run) => setImmediate(run),
  ) {}

  push<T>(job: FanoutJob<T>): void {
    this.jobs.push({ ...(job as FanoutJob<unknown>), next: 0, delivered: 0 });
    this.waiting += job.targets.length;
    this.schedule();
  }

  /** Frames queued and not written yet: how far the fan-out runs behind. */
  get backlog(): number {
    return this.waiting;
  }

  /** Queued jobs not finished yet. */
  get depth(): number {
    return this.jobs.length - this.head;
  }

  private schedule(): void {
    if (this.scheduled || this.depth === 0) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      this.run();
    });
  }

  private run(): void {
    let budget = this.sliceSize;
    while (budget > 0 && this.head < this.jobs.length) {
      const job = this.jobs[this.head]!;
      const end = Math.min(job.targets.length, job.next + budget);
      for (let i = job.next; i < end; i++) if (job.deliver(job.targets[i])) job.delivered++;
      budget -= end - job.next;
      this.waiting -= end - job.next;
      job.next = end;
      if (job.next < job.targets.length) break;
      // Budget counts jobs too, so thousands of tiny jobs also yield.
      budget--;
      this.jobs[this.head++] = undefined as unknown as Running<unknown>;
      job.done?.(job.delivered);
    }
    if (this.head > 1024 && this.head * 2 > this.jobs.length) {
      this.jobs.splice(0, this.head);
      this.head = 0;
    }
    this.schedule();
  }
}
