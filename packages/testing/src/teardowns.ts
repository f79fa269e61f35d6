/** What a fixture closes in its afterAll before its own parts: the last registered first. */
export interface Teardowns {
  add(teardown: () => unknown): void;
  /** Runs every teardown even when one throws; resolves to the first failure, if any. */
  run(): Promise<unknown>;
}

export function createTeardowns(): Teardowns {
  const list: (() => unknown)[] = [];
  return {
    add: (teardown) => void list.push(teardown),
    async run() {
      let failure: unknown;
      for (const teardown of list.splice(0).reverse()) {
        try {
          await teardown();
        } catch (err) {
          failure ??= err;
        }
      }
      return failure;
    },
  };
}
