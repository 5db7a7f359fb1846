import type { Logger } from './logger.ts';

/**
 * Runs `run` at start and then every `intervalMs` (0: at start only), one run at a time: a tick
 * that comes while a run is going waits for it, so runs never overlap. A failed run is logged and
 * the next tick tries again; `stop` waits for the run in progress.
 */
export class PeriodicJob {
  readonly #name: string;
  readonly #log: Logger;
  readonly #run: () => Promise<void>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> = Promise.resolve();

  constructor(name: string, log: Logger, run: () => Promise<void>) {
    this.#name = name;
    this.#log = log;
    this.#run = run;
  }

  start(intervalMs: number): void {
    this.#tick();
    if (intervalMs > 0) this.#timer = setInterval(() => this.#tick(), intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }

  #tick(): void {
    this.#running = this.#running.then(this.#run).catch((error) => this.#log.error({ err: error }, `${this.#name} failed`));
  }
}
