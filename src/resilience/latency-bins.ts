/**
 * Log-scale latency bins for approximate percentiles without keeping samples: bin 0 holds
 * everything up to 16 ms, then each bin is 2^(1/8) ≈ 9 % wider than the last, up to ~17 min
 * (larger values land in the last bin). A percentile read from them is the upper edge of the bin
 * holding it, so it overstates the true value by at most ~9 %.
 */
const FLOOR_MS = 16;
const BINS_PER_DOUBLING = 8;
const DOUBLINGS = 16;

/** How many latency bins there are. */
export const LATENCY_BIN_COUNT = 1 + BINS_PER_DOUBLING * DOUBLINGS;

/** The bin a latency falls into. */
export function latencyBin(ms: number): number {
  if (!(ms > FLOOR_MS)) return 0;
  // Bin i covers (16·2^((i−1)/8), 16·2^(i/8)]; the epsilon keeps an exact upper edge in its own bin.
  const bin = Math.ceil(BINS_PER_DOUBLING * Math.log2(ms / FLOOR_MS) - 1e-9);
  return Math.min(bin, LATENCY_BIN_COUNT - 1);
}

/** The largest latency bin `bin` holds. */
export function latencyBinUpperMs(bin: number): number {
  return FLOOR_MS * 2 ** (bin / BINS_PER_DOUBLING);
}

/** Nearest-rank position of the p-th percentile among `count` samples (1-based), in integer math. */
export function percentileRank(count: number, percent: number): number {
  return Math.max(1, Math.ceil((count * percent) / 100));
}
