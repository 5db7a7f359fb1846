import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Logger } from '../src/shared/logger.ts';
import { Secret } from '../src/shared/secret.ts';
import { capturedLogger } from './support/captured-logger.ts';
import { expectNoErrors, type Gateway, startGateway } from './support/gateway.ts';
import { CreateApiKey, ListAgents, RefreshToken } from './support/operations.ts';

describe('the logger never prints a secret', () => {
  const canary = `canary-${Math.random().toString(36).slice(2)}-value`;

  test.each([
    ['a secret-named field', (log: Logger) => log.info({ token: canary }, 'hello')],
    ['a nested secret-named field', (log: Logger) => log.info({ request: { headers: { authorization: canary } } }, 'hello')],
    ['an authorization header', (log: Logger) => log.info({ req: { headers: { authorization: `Bearer ${canary}` } } }, 'x')],
    ['a secret-named field two levels down', (log: Logger) => log.info({ input: { owner: { password: canary } } }, 'x')],
    ['a secret-named field in an array', (log: Logger) => log.warn({ items: [{ apiKey: canary }] }, 'x')],
    ['a secret-named binding of a child logger', (log: Logger) => log.child({ token: canary }).info('x')],
  ])('%s is redacted', (_name, write) => {
    const { log, text } = capturedLogger();
    write(log);
    expect(text()).toContain('[redacted]');
    expect(text()).not.toContain(canary);
  });

  test('redaction works on a copy: the object logged keeps its values', () => {
    const { log, text } = capturedLogger();
    const logged = { input: { name: 'kept', credential: canary } };
    log.info(logged, 'x');
    expect(text()).not.toContain(canary);
    expect(text()).toContain('kept');
    expect(logged.input.credential).toBe(canary);
  });

  test('a Secret prints as [redacted] in fields, messages and errors', () => {
    const { log, text } = capturedLogger();
    const secret = new Secret(canary);
    log.info({ whatever: secret }, `message with ${secret}`);
    log.error({ err: new Error(`failed with ${secret.reveal()}`) }, 'boom'); // value pasted into an error message
    log.info({ deeply: { nested: { unlisted: secret.reveal() } } }, 'deep');
    expect(text()).not.toContain(canary);
  });

  test('a bearer token or API key pasted into free text is scrubbed even if never registered', () => {
    const { log, text } = capturedLogger();
    const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXZhbHVlLWhlcmU';
    const apiKey = `fgk_${'A'.repeat(86)}`;
    log.warn(`upstream said: Authorization: Bearer ${jwt} and key ${apiKey}`);
    expect(text()).not.toContain(jwt);
    expect(text()).not.toContain(apiKey);
  });
});

describe('the log of a gateway run at trace level', () => {
  let gw: Gateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.close());

  test('sign-up, keys, refreshed tokens and refused credentials leave no secret in the logs', async () => {
    const acme = await gw.seed.tenant();
    const { createApiKey } = expectNoErrors(
      await gw.execute(CreateApiKey, { input: { name: 'ci', scopes: ['AGENTS_READ'] } }, { token: acme.ownerToken }),
    );
    const { refreshToken } = expectNoErrors(await gw.execute(RefreshToken, {}, { token: acme.ownerToken }));
    expectNoErrors(await gw.execute(ListAgents, { first: 1 }, { token: createApiKey.key }));
    // Refused: a tampered key and a tampered token.
    await gw.execute(ListAgents, { first: 1 }, { token: `${createApiKey.key.slice(0, -2)}xx` });
    await gw.execute(ListAgents, { first: 1 }, { token: `${acme.ownerToken}x` });

    const logs = gw.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of [acme.ownerToken, createApiKey.key, refreshToken.token]) {
      expect(logs).not.toContain(secret);
      expect(logs).not.toContain(secret.slice(-24)); // not even the signature or secret part
    }
  });

  test('a trusted document sent by its id alone is logged under its operation name, as its metric is labelled', async () => {
    // The harness sends the gateway's own documents (schema/operations) by id, without an operation name.
    expect((ListAgents as { __meta__?: { hash?: string } }).__meta__?.hash).toBeTruthy();
    const acme = await gw.seed.tenant();
    const requestId = `named-${Math.random().toString(36).slice(2)}`;
    expectNoErrors(await gw.execute(ListAgents, { first: 1 }, { token: acme.ownerToken, headers: { 'x-request-id': requestId } }));
    const executed = gw
      .logs()
      .split('\n')
      .filter((line) => line.includes(requestId))
      .map((line) => JSON.parse(line) as { msg: string; operation?: string })
      .filter((line) => line.msg === 'operation executed');
    expect(executed.map((line) => line.operation)).toEqual(['ListAgents']);
  });
});
