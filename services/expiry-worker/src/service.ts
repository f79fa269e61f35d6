import { serviceEntry } from '@zephyr/contracts';
/** This process's name: logs, metrics label. */
export const SERVICE_NAME = serviceEntry('expiry-worker').name;
