import { v7 } from 'uuid';

/** Server-generated, time-ordered ids: never taken from a client, so they reveal nothing and page in order. */
export function newId(): string {
  return v7();
}
