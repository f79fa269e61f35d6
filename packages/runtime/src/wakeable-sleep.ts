/** A worker loop's sleep that `wake` ends early (new work arrived, or the loop is stopping). */
export interface WakeableSleep {
  sleep(ms: number): Promise<void>;
  /** Ends the current sleep, or, when the loop is busy, the next one at once: a wake is never lost. */
  wake(): void;
}

export function createWakeableSleep(): WakeableSleep {
  let wakeUp: (() => void) | undefined;
  /** Work arrived while the loop was not sleeping: its next sleep must not wait for the poll. */
  let woken = false;
  return {
    sleep: (ms) =>
      new Promise<void>((resolve) => {
        if (woken) {
          woken = false;
          resolve();
          return;
        }
        const timer = setTimeout(() => {
          wakeUp = undefined;
          resolve();
        }, ms);
        wakeUp = () => {
          wakeUp = undefined;
          clearTimeout(timer);
          resolve();
        };
      }),
    wake: () => {
      if (wakeUp) wakeUp();
      else woken = true;
    },
  };
}
