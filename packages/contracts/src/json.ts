/**
 * JSON.parse that refuses `__proto__` keys. JSON.parse makes them plain own properties, but validators
 * silently drop them and object spreads turn them into prototypes, so an input carrying one is refused
 * as malformed rather than half-accepted.
 */
export function parseJson(text: string): unknown {
  // A `__proto__` key is spelled out or escaped; text with neither cannot hold one, and parses without the
  // reviver (which costs a call per value, on every request body).
  if (!text.includes('__proto__') && !text.includes('\\')) return JSON.parse(text);
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__') throw new SyntaxError('"__proto__" is not allowed as a key');
    return value;
  });
}

/** Own keys that would change an object's prototype if copied (query strings, parsed bodies). */
export function hasPrototypeKey(value: unknown): boolean {
  return typeof value === 'object' && value !== null && Object.prototype.hasOwnProperty.call(value, '__proto__');
}
