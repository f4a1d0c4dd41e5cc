/**
 * Time-to-maxmemory forecast: a least-squares line through recent used-memory samples. Only
 * a real trend counts: the fit needs enough samples over enough time, and growth of at least
 * `minGrowthBytes` over the fitted span, so allocator drift never forecasts a false "full".
 */
export interface MemorySample {
  /** Unix milliseconds. */
  t: number;
  used: number;
  max: number;
}

export interface Forecast {
  /** Fitted growth, bytes per second (negative when shrinking). */
  bytesPerSecond: number;
  /** Milliseconds until used memory reaches maxmemory on this trend; absent when not growing or no limit. */
  timeToFullMs?: number;
  /** Fitted value at the last sample. */
  fittedUsed: number;
  samples: number;
}

export interface ForecastOptions {
  windowMs: number;
  minSamples?: number;
  /** Default 1 MiB. */
  minGrowthBytes?: number;
}

/** Fit the samples of the last `windowMs`; undefined when there is too little data. */
export function forecastFull(samples: readonly MemorySample[], now: number, options: ForecastOptions): Forecast | undefined {
  const recent = samples.filter((s) => s.t >= now - options.windowMs);
  if (recent.length < (options.minSamples ?? 5)) return undefined;
  const t0 = recent[0].t;
  const n = recent.length;
  let sx = 0;
  let sy = 0;
  for (const s of recent) {
    sx += (s.t - t0) / 1000;
    sy += s.used;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const s of recent) {
    const dx = (s.t - t0) / 1000 - mx;
    sxx += dx * dx;
    sxy += dx * (s.used - my);
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  const last = recent[n - 1];
  const fittedUsed = my + slope * ((last.t - t0) / 1000 - mx);
  const forecast: Forecast = { bytesPerSecond: slope, fittedUsed, samples: n };
  const spanS = (last.t - t0) / 1000;
  const grew = slope * spanS >= (options.minGrowthBytes ?? 1024 * 1024);
  if (last.max > 0 && slope > 0 && grew) {
    forecast.timeToFullMs = Math.max(0, ((last.max - Math.max(fittedUsed, last.used)) / slope) * 1000);
  }
  return forecast;
}
