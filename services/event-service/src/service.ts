/** This process's name: logs, metrics label, envelope `producer`. */
export const SERVICE_NAME = 'event-service';
