export * from './messaging/names';
export * from './messaging/envelope';
export * from './http/types';
export * from './http/errors';
export * from './http/headers';
export * from './http/schemas';
export * from './http/internal';
export * from './ws/protocol';
