import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FieldValue } from '../../protocol/amqp/codec/field-table.js';
import { maxPriorityArgument } from './max-priority.js';

test('x-max-priority: integers 1..255 of every AMQP integer type', () => {
  const valid: [FieldValue, number][] = [
    [1, 1], [10, 10], [255, 255], [10n, 10], [{ type: 'b', value: 5 }, 5], [{ type: 'B', value: 200 }, 200],
    [{ type: 's', value: 7 }, 7], [{ type: 'u', value: 7 }, 7], [{ type: 'i', value: 9 }, 9], [{ type: 'l', value: 3n }, 3],
  ];
  for (const [v, want] of valid) assert.equal(maxPriorityArgument({ 'x-max-priority': v }), want, String(v));
});

test('x-max-priority: absent or invalid means a plain queue (0)', () => {
  assert.equal(maxPriorityArgument({}), 0);
  const invalid: FieldValue[] = [
    0, -1, 256, 1000n, 0n, 2.5, { type: 'd', value: 5 }, { type: 'f', value: 5 }, { type: 'D', value: { scale: 0, value: 5 } },
    '5', true, null, [5], { nested: 5 },
  ];
  for (const v of invalid) assert.equal(maxPriorityArgument({ 'x-max-priority': v }), 0, JSON.stringify(v, (_, x) => typeof x === 'bigint' ? `${x}n` : x));
});
