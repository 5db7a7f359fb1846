import { createPublicKey, hash, type KeyObject, verify } from 'node:crypto';

/**
 * The audit chain's canonical encoding (v1), the one definition shared by the database trigger
 * (`audit_event_hash` and `audit_events_chain`, migrations/functions/audit.sql), verifyAuditLog, the export and the offline
 * verifier. Every field is a netstring `<UTF-8 byte length>:<value>,` or `-,` for NULL, in this order:
 *
 *   "fleetgate-audit-v1", tenantId, seq, id, createdAt, actorType, actorId, action, targetType,
 *   targetId, outcome, requestId, detail, prevHash
 *
 * uuids lower-case; seq decimal; createdAt UTC `YYYY-MM-DDTHH:MI:SS.ffffffZ`; detail the JSON text
 * exactly as Postgres renders the stored jsonb; prevHash lower-case hex. hash = sha256(encoding).
 * No dependency on the database or the gateway: this file is all the offline verifier needs.
 */
export const CHAIN_VERSION = 'fleetgate-audit-v1';
export const GENESIS_HASH = '0'.repeat(64);

/** One event as hashed and as exported (one NDJSON line). */
export interface ChainEvent {
  tenantId: string;
  seq: string;
  id: string;
  createdAt: string;
  actorType: string;
  actorId: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  outcome: string;
  requestId: string | null;
  /** JSON text exactly as hashed (Postgres' rendering of the jsonb). */
  detail: string;
  prevHash: string;
  hash: string;
}

export const CHAIN_FIELDS = [
  'tenantId',
  'seq',
  'id',
  'createdAt',
  'actorType',
  'actorId',
  'action',
  'targetType',
  'targetId',
  'outcome',
  'requestId',
  'detail',
  'prevHash',
  'hash',
] as const satisfies readonly (keyof ChainEvent)[];

/** The fields the hash covers, in encoding order: every chain field but the hash itself. */
export const HASHED_FIELDS = CHAIN_FIELDS.filter((field): field is Exclude<(typeof CHAIN_FIELDS)[number], 'hash'> => field !== 'hash');

function netstring(value: string | null): string {
  return value === null ? '-,' : `${Buffer.byteLength(value, 'utf8')}:${value},`;
}

export function canonicalEncoding(event: Omit<ChainEvent, 'hash'>): string {
  return [CHAIN_VERSION, ...HASHED_FIELDS.map((field) => event[field])].map(netstring).join('');
}

export function eventHash(event: Omit<ChainEvent, 'hash'>): string {
  return encodingHash(canonicalEncoding(event));
}

function encodingHash(encoding: string): string {
  return hash('sha256', encoding, 'hex');
}

/**
 * An event as verifyAuditLog streams it: the canonical encoding already assembled by its query
 * (from the row's columns, with Postgres built-ins, see audit.store.ts), so only what the chain
 * needs crosses the wire. The hash is still recomputed here, never read from the database's functions.
 */
export interface EncodedEvent {
  seq: string;
  id: string;
  hash: string;
  encoding: string;
}

/** prevHash is the encoding's last netstring, `64:<hex>,`; anything else fails the link check. */
function prevHashOf(event: ChainEvent | EncodedEvent): string {
  return 'encoding' in event ? event.encoding.slice(-65, -1) : event.prevHash;
}

/** A signed checkpoint: the chain's hash at seq, where retention cut the log. */
export interface Checkpoint {
  tenantId: string;
  seq: string;
  hash: string;
  keyId: string;
  /** Ed25519 signature (base64) over checkpointMessage(). */
  signature: string;
}

export function checkpointMessage(checkpoint: Pick<Checkpoint, 'tenantId' | 'seq' | 'hash'>): Buffer {
  return Buffer.from(
    ['fleetgate-audit-checkpoint-v1', checkpoint.tenantId, checkpoint.seq, checkpoint.hash].map(netstring).join(''),
    'utf8',
  );
}

export type BreakReason =
  | 'HASH_MISMATCH' // the event's content or hash was changed
  | 'BROKEN_LINK' // prevHash is not the previous event's hash: an event removed, inserted or moved
  | 'SEQUENCE_GAP' // seq does not follow the previous one
  | 'WRONG_TENANT' // an event of another tenant in this chain
  | 'MISSING_START' // the first event is neither seq 1 nor right after a valid checkpoint
  | 'BAD_CHECKPOINT'; // the checkpoint's signature does not verify

export interface ChainBreak {
  seq: string;
  eventId: string | null;
  reason: BreakReason;
}

export interface ChainVerification {
  intact: boolean;
  eventsChecked: number;
  firstSeq: string | null;
  lastSeq: string | null;
  /** Hash the first checked event links to: genesis or the checkpoint's. */
  startHash: string;
  /** Hash of the last checked event (the chain head when the whole log was checked). */
  headHash: string;
  checkpointSeq: string | null;
  brokenAt: ChainBreak | null;
}

export function verifyCheckpointSignature(checkpoint: Checkpoint, publicKey: KeyObject): boolean {
  try {
    return verify(null, checkpointMessage(checkpoint), publicKey, Buffer.from(checkpoint.signature, 'base64'));
  } catch {
    return false;
  }
}

export function publicKeyFromPem(pem: string): KeyObject {
  return createPublicKey(pem);
}

/**
 * Verifies a chain fed in seq order, one event at a time, in constant memory. Starts at genesis
 * (seq 1) or, after retention, at a checkpoint whose signature must verify with `publicKey`.
 * Stops at the first break: what follows a break cannot be trusted either.
 */
export class ChainVerifier {
  #expectedSeq: bigint | null = null;
  #prevHash = GENESIS_HASH;
  #result: ChainVerification;

  constructor(
    private readonly tenantId: string,
    private readonly options: {
      checkpoint?: Checkpoint | null;
      publicKey?: KeyObject;
      /** A range that starts mid-chain at a point vouched for elsewhere (a signed report's digest). */
      startAt?: { seq: string; prevHash: string };
    } = {},
  ) {
    this.#result = {
      intact: true,
      eventsChecked: 0,
      firstSeq: null,
      lastSeq: null,
      startHash: GENESIS_HASH,
      headHash: GENESIS_HASH,
      checkpointSeq: null,
      brokenAt: null,
    };
  }

  /** Returns false once the chain is broken (further events are ignored). */
  push(event: ChainEvent | EncodedEvent): boolean {
    const result = this.#result;
    if (!result.intact) return false;
    if (this.#expectedSeq === null) this.#start(event);
    if (!result.intact) return false;
    const fail = (reason: BreakReason) => {
      result.intact = false;
      result.brokenAt = { seq: event.seq, eventId: event.id, reason };
      return false;
    };
    // An encoded event was selected by its tenant and its encoding (hashed below) holds the tenant id.
    if (!('encoding' in event) && event.tenantId !== this.tenantId) return fail('WRONG_TENANT');
    if (BigInt(event.seq) !== this.#expectedSeq) return fail('SEQUENCE_GAP');
    if (prevHashOf(event) !== this.#prevHash) return fail('BROKEN_LINK');
    if (('encoding' in event ? encodingHash(event.encoding) : eventHash(event)) !== event.hash) return fail('HASH_MISMATCH');
    result.eventsChecked++;
    result.firstSeq ??= event.seq;
    result.lastSeq = event.seq;
    result.headHash = event.hash;
    this.#prevHash = event.hash;
    this.#expectedSeq = BigInt(event.seq) + 1n;
    return true;
  }

  #start(first: ChainEvent | EncodedEvent): void {
    const result = this.#result;
    const { checkpoint, publicKey, startAt } = this.options;
    this.#expectedSeq = 1n;
    if (startAt) {
      this.#expectedSeq = BigInt(startAt.seq);
      this.#prevHash = startAt.prevHash;
      result.startHash = startAt.prevHash;
      result.headHash = startAt.prevHash;
      return;
    }
    if (BigInt(first.seq) === 1n) return;
    // The log starts later than seq 1: only a signed checkpoint right before it explains that.
    if (!checkpoint || BigInt(checkpoint.seq) + 1n !== BigInt(first.seq) || checkpoint.tenantId !== this.tenantId) {
      result.intact = false;
      result.brokenAt = { seq: first.seq, eventId: first.id, reason: 'MISSING_START' };
      return;
    }
    if (!publicKey || !verifyCheckpointSignature(checkpoint, publicKey)) {
      result.intact = false;
      result.brokenAt = { seq: checkpoint.seq, eventId: null, reason: 'BAD_CHECKPOINT' };
      return;
    }
    this.#expectedSeq = BigInt(first.seq);
    this.#prevHash = checkpoint.hash;
    result.startHash = checkpoint.hash;
    result.headHash = checkpoint.hash;
    result.checkpointSeq = checkpoint.seq;
  }

  result(): ChainVerification {
    return { ...this.#result };
  }
}
