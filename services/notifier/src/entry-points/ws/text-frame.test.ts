import { Receiver } from 'ws';
import { createFrameCache, textFrame } from './text-frame';

/** Parses `frame` with ws's own receiver (as a client would) and returns the text messages it holds. */
function parsed(frame: Buffer): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const receiver = new Receiver({ isServer: false });
    const messages: string[] = [];
    receiver.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) reject(new Error('binary frame'));
      messages.push(data.toString('utf8'));
    });
    receiver.on('error', reject);
    receiver.write(frame, () => resolve(messages));
  });
}

describe('textFrame', () => {
  it.each([0, 1, 125, 126, 1000, 65_535, 65_536, 200_000])(
    'frames a %i-byte payload as one text frame',
    async (size) => {
      const text = 'é'.repeat(Math.floor(size / 2)) + 'x'.repeat(size % 2);
      const payload = Buffer.from(text, 'utf8');
      expect(payload.length).toBe(size);
      expect(await parsed(textFrame(payload))).toEqual([text]);
    },
  );

  it('builds each payload frame once however many sockets take it', () => {
    const frameOf = createFrameCache();
    const payload = Buffer.from('{"type":"SEAT_UPDATES"}');
    const first = frameOf(payload);
    expect(frameOf(payload)).toBe(first);
    expect(frameOf(Buffer.from('{"type":"SEAT_UPDATES"}'))).not.toBe(first);
  });
});
