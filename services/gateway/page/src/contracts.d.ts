// The gateway serves /assets/contracts.js from @zephyr/contracts (src/entry-points/http/page.ts), so the
// page's names are the services' names; this file only types that module.
export { ClientMessageTypes, ErrorCodes, LIMITS, PublicPaths, ServerMessageTypes } from '@zephyr/contracts';
export type {
  AuditEntry,
  ErrorCode,
  Event,
  EventStatus,
  EventWithCounts,
  Hold,
  Page,
  Seat,
  SeatMap,
  SeatStatus,
  SeatUpdateItem,
  ServerMessage,
} from '@zephyr/contracts';
