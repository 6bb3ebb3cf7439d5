import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCell, formatTable, pick } from './table.js';

test('columns are aligned: text left, numbers right, two spaces apart, no trailing blanks', () => {
  const out = formatTable([
    { name: 'a', messages: 5, durable: true },
    { name: 'longer-name', messages: 12345, durable: false },
  ], ['name', 'messages', 'durable']);
  assert.equal(out, [
    'name         messages  durable',
    'a                   5  true',
    'longer-name     12345  false',
  ].join('\n'));
});

test('nested fields by dotted path; missing values are empty cells', () => {
  const rows = [{ queue: { name: 'q1', vhost: '/' }, tag: 'c1' }, { tag: 'c2' }];
  assert.equal(pick(rows[0], 'queue.name'), 'q1');
  assert.equal(pick(rows[1], 'queue.name'), undefined);
  assert.equal(formatTable(rows, ['queue.name', 'tag']), [
    'queue.name  tag',
    'q1          c1',
    '            c2',
  ].join('\n'));
});

test('cells: arrays comma-joined, objects as JSON, empty objects and null blank, control characters escaped', () => {
  assert.equal(formatCell(['administrator', 'monitoring']), 'administrator,monitoring');
  assert.equal(formatCell({ 'x-max-length': 10 }), '{"x-max-length":10}');
  assert.equal(formatCell({}), '');
  assert.equal(formatCell(null), '');
  assert.equal(formatCell(false), 'false');
  assert.equal(formatCell('two\nlines\tand tab'), 'two\\nlines\\tand tab');
});

test('a column with a number and a blank is still numeric; a mixed one is text', () => {
  const out = formatTable([{ n: 7, m: 1 }, { n: null, m: 'x' }], ['n', 'm']);
  assert.equal(out, ['n  m', '7  1', '   x'].join('\n'));
});

test('no rows: the header alone; header: false leaves it out', () => {
  assert.equal(formatTable([], ['vhost', 'name']), 'vhost  name');
  assert.equal(formatTable([{ k: 'a', v: '1' }, { k: 'bbb', v: '2' }], ['k', 'v'], { header: false }), 'a    1\nbbb  2');
});
