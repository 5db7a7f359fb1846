import type { ChangeFeed } from '../db/change-feed.ts';
import type { Principal } from './principal.ts';

type UserPrincipal = Extract<Principal, { kind: 'user' }>;

/** notify_user_liveness() (migrations/functions/sessions.sql): a user's id whose tokens may have ended. */
export const USER_LIVENESS_CHANNEL = 'fleetgate_user_liveness';

export interface TokenLivenessOptions {
  /** Users remembered at most; past it the memory starts over (each forgotten token is checked again once). */
  maxUsers?: number;
  /** How long the database's answer is trusted without a word from the feed: a bound, not the mechanism. */
  maxAgeMs?: number;
  /** How long a change made on this replica keeps its user out of memory while its notification is on the way. */
  changeWindowMs?: number;
}

/**
 * This replica's memory of the user tokens the database has found live (issue 17, the hot path's
 * cost). The database stays the authority: a token this memory does not vouch for is checked in the
 * request's first statement (enter_user_request), and only that answer is remembered. What makes
 * remembering safe is the liveness feed: every change that can end a token (a role or status change,
 * which moves the user's token version, a removal, a revoked or shortened session) notifies
 * `fleetgate_user_liveness` with the user's id from a trigger, whoever makes it (even SQL typed by
 * hand), and each region's change feed (src/db/change-feed.ts) brings it here (`follow`, then `forget`). So:
 * - on another replica, a revocation ends the token when its notification arrives (milliseconds,
 *   within the one-second bar the issue sets, as freeze does);
 * - on the replica that made the change, at once: the service calls `changing(userId)` before its
 *   transaction commits, which keeps that user out of memory until the notification has come;
 * - while any region's feed cannot vouch for itself (down, reconnecting, stale), nothing is
 *   remembered or vouched for, and every request is checked in the database (fail closed to the
 *   exact check, not to a refusal); a feed that comes back starts from an empty memory.
 * A check that began before a change was heard of is never remembered (the generation counter), so
 * a late answer cannot bring back a token the feed has just ended. A token never outlives its
 * session either: access tokens expire no later than their session (TokenIssuer.issueForSession).
 */
export class TokenLiveness {
  readonly #feedCurrent: () => boolean;
  readonly #maxUsers: number;
  readonly #maxAgeMs: number;
  readonly #changeWindowMs: number;
  /** By user: the tokens found live (`version:session`) and when. */
  #live = new Map<string, Map<string, number>>();
  /** Users changed on this replica whose notification has not come yet, with the time the window closes. */
  readonly #changing = new Map<string, number>();
  /** Moves on every change heard of: an answer to a check begun before it is not remembered. */
  #generation = 0;

  constructor(feedCurrent: () => boolean, options: TokenLivenessOptions = {}) {
    this.#feedCurrent = feedCurrent;
    this.#maxUsers = options.maxUsers ?? 100_000;
    this.#maxAgeMs = options.maxAgeMs ?? 60_000;
    this.#changeWindowMs = options.changeWindowMs ?? 5_000;
  }

  /** Whether the database found this token live since the last change to its user this replica heard of. */
  vouchesFor(principal: UserPrincipal): boolean {
    if (!this.#feedCurrent()) return false;
    const checkedAt = this.#live.get(principal.userId)?.get(tokenKey(principal));
    return checkedAt !== undefined && Date.now() - checkedAt < this.#maxAgeMs;
  }

  /** Taken before a check in the database; hand it back to `remember` with the answer. */
  get generation(): number {
    return this.#generation;
  }

  /** The database found this token live in a check that began at `generation`. */
  remember(principal: UserPrincipal, generation: number): void {
    if (generation !== this.#generation || !this.#feedCurrent()) return;
    const until = this.#changing.get(principal.userId);
    if (until !== undefined) {
      if (Date.now() < until) return;
      this.#changing.delete(principal.userId);
    }
    let tokens = this.#live.get(principal.userId);
    if (!tokens) {
      if (this.#live.size >= this.#maxUsers) this.#live = new Map();
      tokens = new Map();
      this.#live.set(principal.userId, tokens);
    }
    tokens.set(tokenKey(principal), Date.now());
  }

  /** Hears the region's liveness notifications (`forget`) and its losses and returns (`forgetAll`). */
  follow(feed: ChangeFeed): void {
    feed.subscribe(USER_LIVENESS_CHANNEL, (userId) => this.forget(userId));
    feed.onReset(() => this.forgetAll());
  }

  /** The feed says this user changed (committed): its tokens are checked again. */
  forget(userId: string): void {
    this.#generation += 1;
    this.#live.delete(userId);
    this.#changing.delete(userId);
  }

  /**
   * A change to this user is about to commit on this replica: forget it now and remember nothing
   * of it until the feed confirms the commit (or, if it rolled back, the window closes).
   */
  changing(userId: string): void {
    this.#generation += 1;
    this.#live.delete(userId);
    this.#changing.set(userId, Date.now() + this.#changeWindowMs);
  }

  /** The feed was lost or is back: nothing heard before can be trusted. */
  forgetAll(): void {
    this.#generation += 1;
    this.#live = new Map();
  }
}

function tokenKey(principal: UserPrincipal): string {
  return `${principal.tokenVersion ?? 1}:${principal.sessionId ?? ''}`;
}
