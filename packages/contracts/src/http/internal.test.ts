import { holdBatchAnswersOf, holdBatchRequest, MAX_HOLD_BATCH } from './internal';

describe('holdBatchAnswersOf', () => {
  it('takes one answer per hold, each with an HTTP status', () => {
    const answers = [
      { status: 201, body: { seatNumber: 1 } },
      { status: 409, body: { error: { code: 'SEAT_UNAVAILABLE', message: 'taken' } } },
    ];
    expect(holdBatchAnswersOf({ items: answers }, 2)).toEqual(answers);
  });

  it.each([
    ['another count', { items: [{ status: 201 }] }, 2],
    ['no items', {}, 1],
    ['null', null, 1],
    ['items not a list', { items: 'no' }, 1],
    ['a status that is text', { items: [{ status: '201' }] }, 1],
    ['a status out of range', { items: [{ status: 99 }] }, 1],
    ['a fractional status', { items: [{ status: 201.5 }] }, 1],
    ['an item that is null', { items: [null] }, 1],
  ])('refuses %s', (_name, value, count) => {
    expect(holdBatchAnswersOf(value, count)).toBeUndefined();
  });
});

describe('holdBatchRequest', () => {
  const item = { requestId: 'r-1', authorization: 'Bearer x', eventId: 'e', seatNumber: '1', body: '' };

  it('accepts 1 to MAX_HOLD_BATCH items and refuses more, none, or unknown fields', () => {
    expect(holdBatchRequest.validate({ items: [item] }).error).toBeUndefined();
    expect(holdBatchRequest.validate({ items: Array(MAX_HOLD_BATCH).fill(item) }).error).toBeUndefined();
    expect(holdBatchRequest.validate({ items: Array(MAX_HOLD_BATCH + 1).fill(item) }).error).toBeDefined();
    expect(holdBatchRequest.validate({ items: [] }).error).toBeDefined();
    expect(holdBatchRequest.validate({ items: [{ ...item, userId: 'u' }] }).error).toBeDefined();
  });
});
