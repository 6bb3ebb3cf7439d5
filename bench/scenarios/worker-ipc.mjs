// The IPC side shared by the load-generator children of bench/side-by-side.mjs (worker.mjs on
// amqplib, raw-worker.mjs on bench/lib/raw-amqp.mjs): 'mark' answers { count, cpu, lat? },
// 'stop' stops, closes the connections and exits; 'ready' is sent once the worker is set up.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) this process has used. */
export function cpuNow() {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

/** p50 / p99 / p99.9 / max of one-way latencies (µs), or null when there are none. */
export function percentiles(v) {
  if (v.length === 0) return null;
  const s = Float64Array.from(v).sort();
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, p50: at(0.5), p99: at(0.99), p999: at(0.999), max: s[s.length - 1] };
}

/**
 * Serves the side-by-side conversation. `count()` is messages confirmed / published / received so
 * far; `latencies`, for a latency consumer, the array it pushes one-way latencies (µs) to, emptied
 * at each mark; `stop()` ends publishing (its promise: the publisher finished), `close()` closes
 * the connections.
 */
export function serveIpc({ count, latencies, stop, close }) {
  process.on('message', async (msg) => {
    if (msg === 'mark') {
      const lat = latencies === undefined ? undefined : percentiles(latencies);
      if (latencies !== undefined) latencies.length = 0;
      process.send({ count: count(), cpu: cpuNow(), lat });
    } else if (msg === 'stop') {
      await Promise.race([stop(), sleep(3000)]);
      await Promise.race([close(), sleep(3000)]);
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send('ready');
}
