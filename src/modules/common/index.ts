/**
 * The schema's shared pieces: connection helpers for paginated fields (used by *.schema.ts files).
 */
export { cursorConnection, keysetConnection } from './connection.ts';
