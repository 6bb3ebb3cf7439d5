import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHelp, escapeLabelValue, ExpositionWriter, formatLabels, formatValue } from './exposition.js';

test('label values escape backslash, double quote and line feed, nothing else', () => {
  assert.equal(escapeLabelValue('plain/queue.name-1'), 'plain/queue.name-1');
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(escapeLabelValue('tab\there é'), 'tab\there é');
  assert.equal(formatLabels({ vhost: '/', queue: 'q"1' }), '{vhost="/",queue="q\\"1"}');
  assert.equal(formatLabels({}), '');
});

test('help text escapes backslash and line feed, not quotes', () => {
  assert.equal(escapeHelp('say "hi"\\\nbye'), 'say "hi"\\\\\\nbye');
});

test('values: integers plainly, floats, NaN and infinities by name', () => {
  assert.equal(formatValue(42), '42');
  assert.equal(formatValue(0.5), '0.5');
  assert.equal(formatValue(1e21), '1e+21');
  assert.equal(formatValue(NaN), 'NaN');
  assert.equal(formatValue(Infinity), '+Inf');
  assert.equal(formatValue(-Infinity), '-Inf');
});

test('one HELP and TYPE per metric, its samples after it', () => {
  const w = new ExpositionWriter();
  w.single('rabbitmq_queues', 'gauge', 'Queues available', 3);
  w.metric('rabbitmq_queue_messages_published_total', 'counter', 'Published\nto queues')
    .sample(formatLabels({ vhost: '/', queue: 'a' }), 1)
    .sample(formatLabels({ vhost: '/', queue: 'b' }), 2);
  w.single('x', 'untyped', 'u', 0);
  assert.equal(w.toString(), [
    '# HELP rabbitmq_queues Queues available',
    '# TYPE rabbitmq_queues gauge',
    'rabbitmq_queues 3',
    '# HELP rabbitmq_queue_messages_published_total Published\\nto queues',
    '# TYPE rabbitmq_queue_messages_published_total counter',
    'rabbitmq_queue_messages_published_total{vhost="/",queue="a"} 1',
    'rabbitmq_queue_messages_published_total{vhost="/",queue="b"} 2',
    '# HELP x u',
    '# TYPE x untyped',
    'x 0',
    '',
  ].join('\n'));
});

test('an invalid metric name is a programming error', () => {
  assert.throws(() => new ExpositionWriter().metric('bad-name', 'gauge', ''), /invalid metric name/);
});
