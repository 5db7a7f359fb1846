import { describe, expect, test } from 'vitest';
import { MessageQueue } from '../src/modules/live/message-queue.ts';

describe("a live stream's message queue", () => {
  test('delivers in order what was pushed before and after the reader waits, then the last message, then ends', async () => {
    let closed = 0;
    const queue = new MessageQueue<string>(() => {
      closed += 1;
    });
    queue.push('a');
    const first = queue.next();
    const second = queue.next();
    const third = queue.next();
    queue.push('b');
    queue.finish('last');
    queue.push('ignored');
    expect(await first).toEqual({ value: 'a', done: false });
    expect(await second).toEqual({ value: 'b', done: false });
    expect(await third).toEqual({ value: 'last', done: false });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(closed).toBe(1);
  });

  test('a reader that goes away ends a waiting read, drops what was queued and closes once', async () => {
    let closed = 0;
    const queue = new MessageQueue<string>(() => {
      closed += 1;
    });
    const pending = queue.next();
    await queue.return();
    queue.push('late');
    queue.finish('too late');
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(await queue.next()).toEqual({ value: undefined, done: true });
    expect(queue.size).toBe(0);
    expect(closed).toBe(1);
  });
});
