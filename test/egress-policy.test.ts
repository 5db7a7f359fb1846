import { describe, expect, test } from 'vitest';
import {
  checkDestination,
  checkResolved,
  isPublicAddress,
  parseEgressRule,
  swapPlaceholders,
} from '../src/modules/egress/egress-policy.ts';
import { Secret } from '../src/shared/secret.ts';

const rules = ['api.example.com:443', '*.models.example.net:443'].map(parseEgressRule);

describe('the egress allow-list', () => {
  test('exact names and wildcards, on their port only; a wildcard does not match its bare domain', () => {
    expect(checkDestination('api.example.com', 443, rules)).toEqual({ allowed: true });
    expect(checkDestination('API.Example.com.', 443, rules)).toEqual({ allowed: true });
    expect(checkDestination('eu.models.example.net', 443, rules)).toEqual({ allowed: true });
    expect(checkDestination('a.b.models.example.net', 443, rules)).toEqual({ allowed: true });
    expect(checkDestination('models.example.net', 443, rules)).toEqual({ allowed: false, reason: 'not_allowed' });
    expect(checkDestination('api.example.com', 80, rules)).toEqual({ allowed: false, reason: 'not_allowed' });
    expect(checkDestination('api.example.com.evil.io', 443, rules)).toEqual({ allowed: false, reason: 'not_allowed' });
    expect(checkDestination('evilmodels.example.net', 443, rules)).toEqual({ allowed: false, reason: 'not_allowed' });
  });

  test('IP literals are refused in every spelling a URL parser accepts, before any rule is read', () => {
    const anything = [...rules, { host: 'localhost', port: 80 }];
    for (const host of [
      '127.0.0.1',
      '127.1',
      '0x7f.0.0.1',
      '2130706433',
      '017700000001',
      '[::1]',
      '::1',
      '169.254.169.254',
      '[::ffff:127.0.0.1]',
    ]) {
      expect([host, checkDestination(host, 443, anything)]).toEqual([host, { allowed: false, reason: 'ip_literal' }]);
    }
    expect(checkDestination('a b', 443, rules)).toEqual({ allowed: false, reason: 'bad_host' });
  });

  test('a rule names a host and port; IP addresses and bare words are not rules', () => {
    expect(parseEgressRule('*.Example.com:8443')).toEqual({ host: '*.example.com', port: 8443 });
    for (const bad of ['10.0.0.1:443', '[::1]:443', 'localhost:80', 'example.com', 'example.com:0', 'example.com:70000', '*.:443']) {
      expect(() => parseEgressRule(bad), bad).toThrow();
    }
  });

  test('after the lookup every address must be public: private, loopback, link-local and mapped ones refuse the name', () => {
    for (const address of [
      '10.1.2.3',
      '172.17.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '100.64.0.1',
      '::1',
      'fe80::1',
      'fd00::1',
      '::ffff:10.0.0.1',
      '0.0.0.0',
    ]) {
      expect([address, isPublicAddress(address)]).toEqual([address, false]);
    }
    for (const address of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect([address, isPublicAddress(address)]).toEqual([address, true]);
    }
    expect(checkResolved(['93.184.216.34'])).toEqual({ allowed: true });
    expect(checkResolved(['93.184.216.34', '10.0.0.5'])).toEqual({ allowed: false, reason: 'private_address' });
    expect(checkResolved([])).toEqual({ allowed: false, reason: 'no_address' });
  });
});

describe('secret swap', () => {
  const value = `sk-live-${Math.random().toString(36).slice(2)}`;
  const bindings = [{ placeholder: 'fgs_ph_0001', value: new Secret(value), hosts: [parseEgressRule('api.example.com:443')] }];

  test('the placeholder becomes the real value in the headers for a bound host, and only there', () => {
    const headers = { authorization: 'Bearer fgs_ph_0001', 'x-other': 'fgs_ph_0001 twice fgs_ph_0001' };
    const bound = swapPlaceholders(headers, { host: 'api.example.com', port: 443 }, bindings);
    expect(bound.headers).toEqual({ authorization: `Bearer ${value}`, 'x-other': `${value} twice ${value}` });
    expect(bound.swapped).toEqual(['fgs_ph_0001']);
    for (const destination of [
      { host: 'other.example.com', port: 443 },
      { host: 'api.example.com', port: 80 },
    ]) {
      const elsewhere = swapPlaceholders(headers, destination, bindings);
      expect(elsewhere.headers).toEqual(headers);
      expect(elsewhere.swapped).toEqual([]);
      expect(JSON.stringify(elsewhere)).not.toContain(value);
    }
  });
});
