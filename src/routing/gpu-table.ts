/**
 * Rental prices and LLM serving throughput of common GPUs, for `breakwater cost compare` (SPEC
 * OW-3). A dated snapshot of public figures, not a quote: pass `--gpu-price` and `--tokens-per-s`
 * with your own numbers. Throughput is Llama 3.1 8B output tokens/s at batch 32 on one GPU.
 */
export const GPU_TABLE_DATE = '2025-12-31';

/** One GPU's figures. */
export interface GpuFigures {
  id: string;
  name: string;
  /** On-demand rental, USD per GPU-hour. */
  usdPerHour: number;
  /** Serving throughput, output tokens/s, Llama 3.1 8B, batch 32. */
  tokensPerSecond: number;
  sources: string[];
}

const PRICES = 'https://aihardwareindex.com/blog/h100-vs-a100-vs-l40s-the-cost-per-token-analysis (cloud pricing, December 2025)';
const THROUGHPUT = 'Koyeb GPU benchmarks, Llama 3.1 8B, batch 32, as cited in the same analysis';

export const GPU_TABLE: readonly GpuFigures[] = Object.freeze([
  { id: 'h100-sxm', name: 'NVIDIA H100 SXM 80 GB', usdPerHour: 2.25, tokensPerSecond: 2462, sources: [PRICES, THROUGHPUT] },
  { id: 'a100-sxm', name: 'NVIDIA A100 SXM 80 GB', usdPerHour: 1.49, tokensPerSecond: 1933, sources: ['https://pricegpu.pages.dev/blog/h100-vs-a100-cloud-price (low end of the early-2026 on-demand range)', THROUGHPUT] },
  { id: 'a100-pcie', name: 'NVIDIA A100 PCIe 80 GB', usdPerHour: 1.35, tokensPerSecond: 1879, sources: [PRICES, THROUGHPUT] },
  { id: 'l40s', name: 'NVIDIA L40S 48 GB', usdPerHour: 0.87, tokensPerSecond: 1124, sources: [PRICES, THROUGHPUT] },
]);

/** The figures of one GPU by id, or an error listing the known ids. */
export function gpuFigures(id: string): GpuFigures {
  const found = GPU_TABLE.find((gpu) => gpu.id === id);
  if (!found) throw new Error(`unknown GPU '${id}'; known: ${GPU_TABLE.map((gpu) => gpu.id).join(', ')}`);
  return found;
}
