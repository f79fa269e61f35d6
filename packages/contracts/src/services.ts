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
