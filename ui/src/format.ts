/** Numbers, sizes, rates and durations as people read them. Pure functions (also used by unit tests). */

const GROUPED = new Intl.NumberFormat('en-US');

/** 1234567 → "1,234,567". */
export function fmtInt(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : GROUPED.format(Math.round(n));
}

/** Short form for rates and axis labels: 0.4, 12, 2.1k, 3.4M. */
export function fmtShort(n: number): string {
  const a = Math.abs(n);
  if (a >= 1e9) return `${trim(n / 1e9)}G`;
  if (a >= 1e6) return `${trim(n / 1e6)}M`;
  if (a >= 1e3) return `${trim(n / 1e3)}k`;
  if (a >= 10 || a === 0) return String(Math.round(n));
  return trim(n);
}

function trim(n: number): string {
  return (Math.round(n * 10) / 10).toFixed(1).replace(/\.0$/, '');
}

/** A rate: "2.1k/s". */
export function fmtRate(n: number): string {
  return `${fmtShort(n)}/s`;
}

/** Bytes in binary units: "512 B", "3.2 MiB". */
export function fmtBytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v >= 100 ? Math.round(v) : trim(v)} ${units[i]}`;
}

/** A duration in seconds, to the unit that matters: "45 s", "3 min", "2 h 10 min", "4 days". */
export function fmtDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '∞';
  const s = Math.max(0, seconds);
  if (s < 1) return '< 1 s';
  if (s < 90) return `${Math.round(s)} s`;
  const min = s / 60;
  if (min < 90) return `${Math.round(min)} min`;
  const h = Math.floor(min / 60);
  if (h < 48) {
    const m = Math.round(min - h * 60);
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  return `${Math.round(h / 24)} days`;
}

/** A clock time for chart axes: "14:05:30". */
export function fmtClock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** RabbitMQ shows the default vhost as "/"; names are shown as they are. */
export function fmtVhost(v: string): string {
  return v;
}
