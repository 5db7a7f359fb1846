/**
 * A subscription's source: events pushed in, read by graphql's subscription loop in order. `finish`
 * queues a last message and ends the stream after it; `return` (the client went away) ends it at
 * once. Either way `onClose` runs once, so the stream is forgotten by whoever registered it.
 */
export class MessageQueue<Message> implements AsyncIterableIterator<Message> {
  readonly #buffer: Message[] = [];
  readonly #onClose: () => void;
  /** Reads waiting for a message, oldest first. */
  readonly #waiting: ((result: IteratorResult<Message>) => void)[] = [];
  #finished = false;
  #closed = false;

  constructor(onClose: () => void) {
    this.#onClose = onClose;
  }

  /** Messages waiting to be read. */
  get size(): number {
    return this.#buffer.length;
  }

  push(message: Message): void {
    if (this.#finished) return;
    const waiting = this.#waiting.shift();
    if (waiting) {
      waiting({ value: message, done: false });
    } else {
      this.#buffer.push(message);
    }
  }

  /** Queues `last` and ends the stream once it has been read. */
  finish(last: Message): void {
    if (this.#finished) return;
    this.push(last);
    this.#finished = true;
    this.#close();
    if (this.#buffer.length === 0) this.#settleWaiting();
  }

  next(): Promise<IteratorResult<Message>> {
    const message = this.#buffer.shift();
    if (message !== undefined) return Promise.resolve({ value: message, done: false });
    if (this.#finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  return(): Promise<IteratorResult<Message>> {
    this.#finished = true;
    this.#buffer.length = 0;
    this.#close();
    this.#settleWaiting();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Message> {
    return this;
  }

  #settleWaiting(): void {
    for (const waiting of this.#waiting.splice(0)) waiting({ value: undefined, done: true });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
  }
}
