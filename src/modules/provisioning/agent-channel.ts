import { execFile } from 'node:child_process';
import { constants, openSync } from 'node:fs';
import { chmod, chown, mkdir, rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { MikroORM } from '@mikro-orm/postgresql';
import { forkForTenant } from '../../db/request-scope.ts';
import { isCanonicalUuid } from '../../shared/ids.ts';
import type { Logger } from '../../shared/logger.ts';
import { agentConfig, answerTask, requeueUnanswered, takeNextTask } from '../tasks/index.ts';

const run = promisify(execFile);
/** A request line longer than this closes nothing but is dropped. */
const MAX_LINE = 128 * 1024;
const AGENT_UID = 65534;

export interface AgentChannelsOptions {
  orm: MikroORM;
  log: Logger;
  /** Host directory holding one subdirectory per agent; 0700, so no other host user reaches a channel. */
  root: string;
  /** How long NEXT waits for a task before answering NONE. */
  longPollMs?: number;
  /** Verbs other modules add to the line protocol (agent memory: TOKEN, MEMPUT, MEMGET). */
  extensions?: ChannelExtensions;
}

/** More verbs for the channel, answered for the agent the line arrived from and no other. */
export interface ChannelExtensions {
  /** The answer line for `verb`, or undefined when the verb is not this extension's. */
  handle(agent: { tenantId: string; agentId: string }, verb: string, args: string[]): Promise<string | undefined>;
}

/**
 * The agent's only way to the gateway: a directory per agent holding two FIFOs (`from-agent`,
 * `to-agent`), bind-mounted read-only into that agent's container and no other. The gateway knows
 * who is on the other end from which FIFO a line arrives on, never from what the agent says, and
 * acts for it in its tenant's RLS context. No network, no token, nothing to steal or replay.
 *
 * FIFOs rather than a Unix socket: the reference image is busybox alone, and busybox's `nc` cannot
 * speak AF_UNIX; FIFOs need only the shell.
 */
export class AgentChannels {
  readonly #options: AgentChannelsOptions;
  readonly #log: Logger;
  readonly #open = new Map<string, AgentChannel>();
  /** Start secrets waiting for the agent's `START` request, between its container's start and that request. */
  readonly #pendingStarts = new Map<string, PendingStart>();

  constructor(options: AgentChannelsOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'agent-channel' });
  }

  async init(): Promise<void> {
    await mkdir(this.#options.root, { recursive: true, mode: 0o700 });
    await chmod(this.#options.root, 0o700);
  }

  dirOf(agentId: string): string {
    if (!isCanonicalUuid(agentId)) throw new Error('invalid agent id');
    return join(this.#options.root, agentId);
  }

  isOpen(agentId: string): boolean {
    return this.#open.has(agentId);
  }

  /**
   * Fresh FIFOs for a container that is about to start: whatever the previous container left in
   * them is gone, and tasks it had taken go back to the queue.
   */
  async reset(tenantId: string, agentId: string): Promise<string> {
    this.close(agentId);
    const dir = this.dirOf(agentId);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o755 });
    await run('mkfifo', ['-m', '0600', join(dir, 'to-agent'), join(dir, 'from-agent')]);
    if (process.getuid?.() === 0) {
      for (const fifo of ['to-agent', 'from-agent']) await chown(join(dir, fifo), AGENT_UID, AGENT_UID);
    } else {
      // Without root the FIFOs cannot be given to the agent's user; the 0700 root directory still keeps host users out.
      for (const fifo of ['to-agent', 'from-agent']) await chmod(join(dir, fifo), 0o666);
    }
    await requeueUnanswered(forkForTenant(this.#options.orm, tenantId), agentId);
    this.open(tenantId, agentId);
    return dir;
  }

  /**
   * Offers the start secrets to the container about to start: its entrypoint (docker/agent/bootstrap.sh)
   * asks `START` on its channel first thing and gets `payload` (secret lines, then `END`) as the answer,
   * once; a later `START` (another process in the container) gets `END` alone. Call it before the
   * container starts (the entrypoint may ask before the engine's start call returns) and await it after.
   *
   * Resolves true once the payload is written to the agent's FIFO; false when the agent did not ask
   * within `timeoutMs` (an image whose entrypoint does not take start secrets) or the channel closed.
   *
   * Why the channel: the bytes go from this process's memory through a kernel pipe buffer into the
   * agent's process, never onto a disk or into the container's stored configuration (no environment,
   * no stdin). An attached stdin (the first design) is not passed on by this runsc, and a FIFO of its
   * own read by the entrypoint read end of input at once under gVisor when the gateway had it open
   * before the agent (gVisor `--host-fifo=open`); the request/answer FIFOs work under both levels.
   */
  deliverStart(agentId: string, payload: Buffer, timeoutMs = 15_000): Promise<boolean> {
    this.#pendingStarts.get(agentId)?.settle(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => pending.settle(false), timeoutMs);
      const pending: PendingStart = {
        payload,
        settle: (delivered) => {
          clearTimeout(timer);
          if (this.#pendingStarts.get(agentId) === pending) this.#pendingStarts.delete(agentId);
          if (!delivered) this.#log.warn({ agentId }, 'the agent did not ask for its start secrets; not delivered');
          resolve(delivered);
        },
      };
      this.#pendingStarts.set(agentId, pending);
    });
  }

  /** Attaches to the agent's existing FIFOs (a running container after a gateway restart). */
  open(tenantId: string, agentId: string): void {
    if (this.#open.has(agentId)) return;
    const takeStart = () => {
      const pending = this.#pendingStarts.get(agentId);
      this.#pendingStarts.delete(agentId);
      return pending;
    };
    const channel = new AgentChannel(tenantId, agentId, this.dirOf(agentId), this.#options, this.#log, takeStart);
    this.#open.set(agentId, channel);
  }

  /** A task for this agent committed: answer its waiting NEXT now. */
  wake(agentId: string): void {
    this.#open.get(agentId)?.wake();
  }

  close(agentId: string): void {
    this.#open.get(agentId)?.close();
    this.#open.delete(agentId);
    this.#pendingStarts.get(agentId)?.settle(false);
  }

  async destroy(agentId: string): Promise<void> {
    this.close(agentId);
    await rm(this.dirOf(agentId), { recursive: true, force: true });
  }

  closeAll(): void {
    for (const agentId of [...this.#open.keys()]) this.close(agentId);
  }
}

interface PendingStart {
  payload: Buffer;
  settle(delivered: boolean): void;
}

class AgentChannel {
  readonly #tenantId: string;
  readonly #agentId: string;
  readonly #options: AgentChannelsOptions;
  readonly #log: Logger;
  readonly #in: Socket;
  readonly #out: Socket;
  readonly #takeStart: () => PendingStart | undefined;
  #buffer = '';
  #closed = false;
  #waiter: (() => void) | undefined;
  #queue: Promise<void> = Promise.resolve();

  constructor(
    tenantId: string,
    agentId: string,
    dir: string,
    options: AgentChannelsOptions,
    log: Logger,
    takeStart: () => PendingStart | undefined,
  ) {
    this.#takeStart = takeStart;
    this.#tenantId = tenantId;
    this.#agentId = agentId;
    this.#options = options;
    this.#log = log.child({ tenantId, agentId });
    // O_RDWR never blocks on a FIFO and keeps it open across agent restarts (no EOF, no SIGPIPE).
    const flags = constants.O_RDWR | constants.O_NONBLOCK;
    this.#in = new Socket({ fd: openSync(join(dir, 'from-agent'), flags), readable: true, writable: false });
    this.#out = new Socket({ fd: openSync(join(dir, 'to-agent'), flags), readable: false, writable: true });
    for (const socket of [this.#in, this.#out]) socket.on('error', (error) => this.#log.warn({ err: error }, 'channel error'));
    this.#in.setEncoding('utf8');
    this.#in.on('data', (chunk: string) => this.#receive(chunk));
  }

  wake(): void {
    this.#waiter?.();
  }

  close(): void {
    this.#closed = true;
    this.wake();
    this.#in.destroy();
    this.#out.destroy();
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    if (this.#buffer.length > MAX_LINE && !this.#buffer.includes('\n')) {
      this.#log.warn('oversized request line dropped');
      this.#buffer = '';
      return;
    }
    let newline = this.#buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.#buffer.slice(0, newline);
      this.#buffer = this.#buffer.slice(newline + 1);
      // One request at a time, in order: the agent waits for each answer anyway.
      this.#queue = this.#queue.then(() => this.#handle(line)).catch((error) => this.#log.error({ err: error }, 'channel request failed'));
      newline = this.#buffer.indexOf('\n');
    }
  }

  async #handle(line: string): Promise<void> {
    const em = () => forkForTenant(this.#options.orm, this.#tenantId);
    const [verb, ...args] = line.trim().split(' ');
    switch (verb) {
      case 'HELLO':
        return this.#reply('OK');
      case 'START': {
        // Once per start: whoever asks again (another process in the container) gets nothing.
        const pending = this.#takeStart();
        if (!pending) return this.#reply('END');
        if (this.#closed) return pending.settle(false);
        this.#out.write(pending.payload, (error) => pending.settle(!error));
        return;
      }
      case 'ANSWERS': {
        const config = await agentConfig(em(), this.#agentId);
        const answers = typeof config.answers === 'object' && config.answers !== null ? (config.answers as Record<string, unknown>) : {};
        const lines = Object.entries(answers).map(([question, answer]) => `${b64(question)} ${b64(text(answer))}`);
        lines.push(`* ${b64(typeof config.fallback === 'string' ? config.fallback : "I don't know that one yet.")}`);
        return this.#reply(`${lines.join('\n')}\nEND`);
      }
      case 'NEXT': {
        const deadline = Date.now() + (this.#options.longPollMs ?? 20_000);
        while (!this.#closed) {
          const task = await takeNextTask(em(), this.#agentId);
          if (task) {
            if (this.#closed) return requeueUnanswered(em(), this.#agentId);
            this.#log.debug({ taskId: task.id }, 'task delivered');
            return this.#reply(`TASK ${task.id} ${b64(task.input)}`);
          }
          const left = deadline - Date.now();
          if (left <= 0) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, Math.min(left, 2_000)); // poll too: a NOTIFY may be lost
            this.#waiter = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#waiter = undefined;
        }
        return this.#reply('NONE');
      }
      case 'RESULT':
      case 'FAIL': {
        const [taskId, encoded = ''] = args;
        if (!taskId || !isCanonicalUuid(taskId)) return this.#reply('ERR');
        const result = Buffer.from(encoded, 'base64').toString('utf8').slice(0, 65_536);
        const ok = await answerTask(em(), this.#agentId, taskId, result, verb === 'RESULT');
        this.#log.debug({ taskId, ok }, 'task answered');
        return this.#reply(ok ? 'OK' : 'ERR');
      }
      default: {
        const answer = await this.#options.extensions?.handle({ tenantId: this.#tenantId, agentId: this.#agentId }, verb ?? '', args);
        return this.#reply(answer ?? 'ERR');
      }
    }
  }

  #reply(text: string): void {
    if (!this.#closed) this.#out.write(`${text}\n`);
  }
}

function b64(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64');
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
