/**
 * The public REST and WebSocket paths of SPEC.md §3, §4 and §7 as templates (`:name` segments), for
 * clients such as the seat-map page. Pure data: the page receives it from the gateway at run time.
 */
export const PublicPaths = {
  events: '/api/events',
  event: '/api/events/:eventId',
  seatMap: '/api/events/:eventId/seats',
  history: '/api/events/:eventId/history',
  seatHold: '/api/seats/:eventId/:seatNumber/hold',
  seatReserve: '/api/seats/:eventId/:seatNumber/reserve',
  multiHold: '/api/seats/:eventId/hold',
  multiReserve: '/api/seats/:eventId/reserve',
  bestAvailable: '/api/seats/:eventId/best-available',
  userHolds: '/api/seats/:eventId/user/:userId/holds',
  webSocket: '/ws',
} as const;
