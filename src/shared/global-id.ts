import { badInput, probeInput } from './errors.ts';

/** Relay global IDs: base64 of `Typename:id`. Decoding refuses anything malformed with BAD_USER_INPUT. */
export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return Buffer.from(`${typename}:${id}`).toString('base64');
}

export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = globalId.length <= 200 ? Buffer.from(globalId, 'base64').toString('utf8') : '';
  const separator = decoded.indexOf(':');
  if (separator <= 0 || !/^[A-Za-z]+$/.test(decoded.slice(0, separator))) throw badInput('Malformed ID');
  // No control character or invalid UTF-8 (decoded as U+FFFD): a NUL in the id could not even be recorded as the target of a refusal.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses.
  if (/[\u0000-\u001f\u007f\ufffd]/.test(decoded)) throw probeInput('Malformed ID', 'CONTROL_CHARACTER_IN_ID');
  return { typename: decoded.slice(0, separator), id: decoded.slice(separator + 1) };
}
