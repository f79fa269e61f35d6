export const HttpHeaders = {
  requestId: 'x-request-id',
  authorization: 'authorization',
  /** SPEC.md §7: a client's retry key on any POST, and the mark on an answer replayed for it. */
  idempotencyKey: 'idempotency-key',
  idempotentReplayed: 'idempotent-replayed',
} as const;
