import { hasPrototypeKey, parseJson } from './json';

describe('parseJson', () => {
  it('parses ordinary JSON as JSON.parse does', () => {
    expect(parseJson('{"a":[1,{"b":null}],"c":"__proto__"}')).toEqual({ a: [1, { b: null }], c: '__proto__' });
  });

  it('refuses a __proto__ key at any depth, as malformed input', () => {
    expect(() => parseJson('{"__proto__":{"admin":true}}')).toThrow(SyntaxError);
    expect(() => parseJson('{"a":{"b":[{"__proto__":1}]}}')).toThrow(SyntaxError);
  });

  it('refuses a __proto__ key spelled with escapes', () => {
    expect(() => parseJson('{"\\u005f_proto__":{"admin":true}}')).toThrow(SyntaxError);
    expect(() => parseJson('{"a":{"__pro\\u0074o__":1}}')).toThrow(SyntaxError);
  });

  it('parses escapes elsewhere as JSON.parse does', () => {
    expect(parseJson('{"a":"line\\nnext \\u00e9"}')).toEqual({ a: 'line\nnext \u00e9' });
  });

  it('still throws SyntaxError for text that is not JSON', () => {
    expect(() => parseJson('{"a":')).toThrow(SyntaxError);
  });
});

describe('hasPrototypeKey', () => {
  it('sees an own __proto__ key and nothing else', () => {
    expect(hasPrototypeKey(JSON.parse('{"__proto__":1}'))).toBe(true);
    expect(hasPrototypeKey({ a: 1 })).toBe(false);
    expect(hasPrototypeKey(null)).toBe(false);
    expect(hasPrototypeKey('__proto__')).toBe(false);
  });
});
