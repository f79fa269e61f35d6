/**
 * The service manifest: each service's name, default port and health paths, in one place for the
 * services' config defaults and logs, the stack launcher and the deploy checks. Listed in start order
 * (what others call comes first; the gateway last).
 */
export const SERVICE_MANIFEST = [
  { name: 'event-service', port: 3001, heapMb: 256 },
  { name: 'seat-service', port: 3002, heapMb: 256 },
  { name: 'notifier', port: 3003, heapMb: 384 },
  { name: 'expiry-worker', port: 3004, heapMb: 128 },
  { name: 'gateway', port: 3000, heapMb: 256 },
] as const;

export type ServiceName = (typeof SERVICE_MANIFEST)[number]['name'];

/**
 * Node flags a service process starts with on a host (npm start, the tests' and benches' launcher): its V8
 * heap cap, `heapMb` above, half its Kubernetes memory limit. Without a cap V8 sizes the heap from the
 * machine's memory (4 GB on a 24 GB host) and lets old space grow to ~4x the live heap between full GCs:
 * the event-service, ~25 MB live, reached ~100 MB of dead promoted request objects and 205 MB RSS after
 * 10,000 event creates; with 256 MB the same run peaks at ~136 MB RSS, same CPU. Containers get the same
 * cap through NODE_OPTIONS (k8s/, docker-compose.yml). The notifier's is larger: ~9 KB per socket.
 */
export function serviceNodeArgs(name: string): string[] {
  const service = SERVICE_MANIFEST.find((s) => s.name === name);
  return service ? [`--max-old-space-size=${service.heapMb}`] : [];
}

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
