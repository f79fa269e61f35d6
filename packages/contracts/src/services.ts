/**
 * The service manifest: each service's name, default port and health paths, in one place for the
 * services' config defaults and logs, the stack launcher and the deploy checks. Listed in start order
 * (what others call comes first; the gateway last).
 */
export const SERVICE_MANIFEST = [
  { name: 'event-service', port: 3001 },
  { name: 'seat-service', port: 3002 },
  { name: 'notifier', port: 3003 },
  { name: 'expiry-worker', port: 3004 },
  { name: 'gateway', port: 3000 },
] as const;

export type ServiceName = (typeof SERVICE_MANIFEST)[number]['name'];

/**
 * Node flags every service process starts with (npm start, the tests' and benches' launcher; the image sets
 * the same in NODE_OPTIONS). Without a cap V8 sizes the heap from the machine's memory (4 GB on a 24 GB
 * host) and then lets old space grow to 4x the live heap between full GCs: a service with ~25 MB live grew
 * to ~100 MB of dead, promoted request objects and 205 MB RSS after 10,000 event creates. With 256 MB the
 * heap grows far less before a full GC (RSS ~136 MB for the same run, same CPU); 256 MB is still 10x the
 * live heap and half the Kubernetes memory limit (512Mi).
 */
export const SERVICE_NODE_ARGS: readonly string[] = ['--max-old-space-size=256'];

/** Every service answers these (SPEC.md: liveness, readiness, Prometheus). */
export const HealthPaths = {
  live: '/health',
  ready: '/health/ready',
  metrics: '/metrics',
} as const;

export interface ServiceEntry {
  name: ServiceName;
  port: number;
}

export function serviceEntry(name: ServiceName): ServiceEntry {
  return SERVICE_MANIFEST.find((s) => s.name === name)!;
}
