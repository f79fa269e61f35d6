import { types } from 'pg';

describe('@zephyr/runtime/db', () => {
  it('changes no global state when imported; opening a pool sets the bigint parser', async () => {
    const before = types.getTypeParser(types.builtins.INT8, 'text');
    const { createDb } = await import('./db');
    expect(types.getTypeParser(types.builtins.INT8, 'text')).toBe(before);
    expect(before('9007199254740993')).toBe('9007199254740993');

    // knex connects lazily: creating the pool talks to no database.
    const db = createDb('postgres://postgres@127.0.0.1:5432/postgres');
    try {
      expect(types.getTypeParser(types.builtins.INT8, 'text')('42')).toBe(42);
    } finally {
      await db.destroy();
    }
  });
});
