import { badInput } from './errors.ts';

/** Relay global IDs: base64 of `Typename:id`. Decoding refuses anything malformed with BAD_USER_INPUT. */
export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`).toString('base64');
}

export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = globalId.length <= 200 ? Buffer.from(globalId, 'base64').toString('utf8') : '';
  const separator = decoded.indexOf(':');
  if (separator <= 0 || !/^[A-Za-z]+$/.test(decoded.slice(0, separator))) throw badInput('Malformed ID');
  return { typename: decoded.slice(0, separator), id: decoded.slice(separator + 1) };
}
