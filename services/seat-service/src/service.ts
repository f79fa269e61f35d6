import { serviceEntry } from '@zephyr/contracts';
/** This process's name: logs, metrics label, envelope `producer`. */
export const SERVICE_NAME = serviceEntry('seat-service').name;
