export const HttpHeaders = {
  requestId: 'x-request-id',
  authorization: 'authorization',
} as const;
