export * from './messaging/names';
export * from './messaging/envelope';
export * from './messaging/broker';
export * from './http/types';
export * from './http/errors';
export * from './http/headers';
export * from './http/schemas';
export * from './http/internal';
