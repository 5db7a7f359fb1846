import pg from 'pg';
import type { Logger } from '../../shared/logger.ts';

/**
 * One LISTEN connection for the runtime: new jobs (`fleetgate_jobs`) wake the job loops and new
 * tasks (`fleetgate_tasks`, payload: the agent id) wake that agent's waiting channel. Both sides
 * also poll, so a dropped connection only slows them down.
 */
export class RuntimeNotifier {
  readonly #url: string;
  readonly #log: Logger;
  #client: pg.Client | undefined;
  onJob: () => void = () => {};
  onTask: (agentId: string) => void = () => {};

  constructor(appUrl: string, log: Logger) {
    this.#url = appUrl;
    this.#log = log.child({ component: 'runtime-notifier' });
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#url, application_name: 'fleetgate-runtime-notifier' });
    client.on('error', (error) => this.#log.warn({ err: error }, 'notification connection lost; polling only'));
    client.on('notification', (message) => {
      if (message.channel === 'fleetgate_jobs') this.onJob();
      else if (message.channel === 'fleetgate_tasks' && message.payload) this.onTask(message.payload);
    });
    await client.connect();
    await client.query('LISTEN fleetgate_jobs');
    await client.query('LISTEN fleetgate_tasks');
    this.#client = client;
  }

  async stop(): Promise<void> {
    await this.#client?.end().catch(() => undefined);
  }
}
