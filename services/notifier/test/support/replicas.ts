import { execSync } from 'node:child_process';
import {
  REPO_ROOT,
  useService,
  waitFor,
  type ServiceFixture,
  type ServiceFixtureOptions,
  type ServiceProcess,
} from '@zephyr/testing';
import { startSeatServiceStub, type SeatServiceStub } from './seat-service-stub';

export interface NotifierReplicas {
  readonly fixture: ServiceFixture;
  readonly stub: SeatServiceStub;
  /** The replicas, in the order they were asked for. */
  readonly replicas: ServiceProcess[];
}

export interface NotifierReplicasOptions {
  /** What `tsc -b` builds first: the notifier by default. */
  build?: string;
  /** Puts a TCP proxy (`fixture.proxy`) between the replicas and this backing service. */
  throughProxy?: ServiceFixtureOptions['throughProxy'];
}

/**
 * A notifier file's setup: builds `build`, starts the seat-service stub, then one notifier replica per entry
 * of `replicas` (replica id → extra env) and waits for the test broker.
 */
export function useNotifierReplicas(
  label: string,
  replicas: Record<string, Record<string, string>>,
  { build = 'services/notifier', throughProxy }: NotifierReplicasOptions = {},
): NotifierReplicas {
  let stub: SeatServiceStub | undefined;
  const started: ServiceProcess[] = [];

  beforeAll(async () => {
    execSync(`npx tsc -b ${build}`, { cwd: REPO_ROOT, stdio: 'pipe', timeout: 120_000 });
    stub = await startSeatServiceStub();
  }, 120_000);

  const fixture = useService('notifier', label, {
    startOnSetup: false,
    throughProxy,
    env: () => ({ SEAT_SERVICE_URL: stub!.url }),
  });

  beforeAll(async () => {
    fixture.onTeardown(() => stub?.close());
    const entries = Object.entries(replicas);
    started.push(
      ...(await Promise.all(entries.map(([id, env]) => fixture.start({ NOTIFIER_REPLICA_ID: id, ...env })))),
    );
    await waitFor(() => fixture.broker.isConnected(), { what: 'test broker connection' });
  }, 120_000);

  return {
    fixture,
    get stub() {
      if (!stub) throw new Error(`useNotifierReplicas('${label}') is read before its beforeAll ran`);
      return stub;
    },
    replicas: started,
  };
}
