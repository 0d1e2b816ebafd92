// Tests for the OCPP viewer-request CloudFront Function. Run: node --test infra/cloudfront/
// Only node:test and node:assert: no npm packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = readFileSync(join(here, 'ocpp-rewrite.js'), 'utf8');
const templatePath = join(here, '..', '..', 'template.yaml');

// CloudFront Functions have no module system: evaluate the file as a function body, the
// way the runtime sees it, and take the top-level `handler` out of it.
const handler = new Function(`${source}\nreturn handler;`)();

// The viewer-request event shape CloudFront Functions receive (only what the code reads).
function viewerRequest(uri, querystring = {}) {
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '192.0.2.10' },
    request: {
      method: 'GET',
      uri,
      querystring,
      headers: { host: { value: 'd111111abcdef8.cloudfront.net' } },
      cookies: {},
    },
  };
}

function assertForwarded(result, stationId) {
  assert.equal(result.statusCode, undefined, 'expected a request, got a response');
  assert.equal(result.uri, '/');
  assert.deepEqual(result.querystring.stationId, { value: stationId });
}

function assertRefused(result, statusCode) {
  assert.equal(result.statusCode, statusCode);
  assert.equal(result.uri, undefined, 'a refusal must not be forwarded');
}

test('/ocpp/CP001 becomes / with stationId=CP001', () => {
  assertForwarded(handler(viewerRequest('/ocpp/CP001')), 'CP001');
});

test('a trailing slash is accepted', () => {
  assertForwarded(handler(viewerRequest('/ocpp/CP001/')), 'CP001');
});

test('/ocpp/CP%20X/ is decoded and encoded again for the query string', () => {
  assertForwarded(handler(viewerRequest('/ocpp/CP%20X/')), 'CP%20X');
});

test('characters that mean something in a query string are encoded', () => {
  // "+" is a literal plus in a path but a space in a query string; "&" and "=" split it.
  assertForwarded(handler(viewerRequest('/ocpp/A+B&c=d')), 'A%2BB%26c%3Dd');
});

test('other query string parameters are kept', () => {
  const result = handler(viewerRequest('/ocpp/CP001', { foo: { value: 'bar' } }));
  assertForwarded(result, 'CP001');
  assert.deepEqual(result.querystring.foo, { value: 'bar' });
});

test('a stationId in the query string is replaced by the one in the path', () => {
  const spoofed = {
    stationId: { value: 'OTHER', multiValue: [{ value: 'OTHER' }, { value: 'X' }] },
  };
  assertForwarded(handler(viewerRequest('/ocpp/CP001', spoofed)), 'CP001');
});

test('/other is refused with 404', () => {
  assertRefused(handler(viewerRequest('/other')), 404);
});

test('/ocpp/ (no identity) is refused with 404', () => {
  assertRefused(handler(viewerRequest('/ocpp/')), 404);
  assertRefused(handler(viewerRequest('/ocpp')), 404);
  assertRefused(handler(viewerRequest('/ocpp//')), 404);
});

test('/ocpp/a/b (more segments) is refused with 404', () => {
  assertRefused(handler(viewerRequest('/ocpp/a/b')), 404);
  assertRefused(handler(viewerRequest('/ocpp/a//')), 404);
  assertRefused(handler(viewerRequest('/')), 404);
  assertRefused(handler(viewerRequest('/x/ocpp/a')), 404);
});

test('malformed percent-encoding is refused with 400', () => {
  assertRefused(handler(viewerRequest('/ocpp/CP%ZZ')), 400);
});

// The template inlines the same code as FunctionCode (a literal block scalar). Extract the
// block crudely: the lines after `FunctionCode: |` that are blank or indented deeper than
// the key, with the indentation of the first line removed.
function inlinedFunctionCode(yaml) {
  const lines = yaml.split(/\r?\n/);
  const start = lines.findIndex((l) => /^\s*FunctionCode:\s*\|[-+]?\s*$/.test(l));
  assert.notEqual(start, -1, 'template.yaml has no `FunctionCode: |` block');
  const keyIndent = lines[start].search(/\S/);
  const block = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.search(/\S/) <= keyIndent) break;
    block.push(line);
  }
  const first = block.find((l) => l.trim() !== '');
  assert.ok(first, 'the FunctionCode block is empty');
  const indent = first.search(/\S/);
  return block
    .map((l) => {
      if (l.trim() === '') return '';
      assert.ok(l.slice(0, indent).trim() === '', `line less indented than the block: ${l}`);
      return l.slice(indent);
    })
    .join('\n');
}

test('template.yaml inlines exactly this file as the CloudFront Function code', () => {
  const inlined = inlinedFunctionCode(readFileSync(templatePath, 'utf8'));
  assert.equal(inlined.replace(/\s+$/, ''), source.replace(/\s+$/, ''));
});
