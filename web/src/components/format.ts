/** Small formatting helpers shared by pages. */

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto" });

/** "3 minutes ago", "yesterday"; falls back to the date for old times. */
export function timeAgo(iso: string, now = Date.now()): string {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  const steps: [number, Intl.RelativeTimeFormatUnit][] = [
    [60, "second"],
    [3600, "minute"],
    [86400, "hour"],
    [86400 * 30, "day"],
  ];
  let unit: Intl.RelativeTimeFormatUnit = "second";
  let size = 1;
  for (const [limit, name] of steps) {
    unit = name;
    if (Math.abs(seconds) < limit) break;
    size = limit;
  }
  if (Math.abs(seconds) >= 86400 * 30) return new Date(iso).toLocaleDateString();
  return relative.format(Math.round(seconds / size), unit);
}
