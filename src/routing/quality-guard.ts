import type { ShadowConfig } from '../config/routing-schema.js';

/** The guard tripped: a (route, deployment)'s agreement fell below the threshold (SPEC RT-5). */
export interface GuardAlert {
  type: 'routing_regression';
  rule: string;
  deployment: string;
  agreement: number;
  samples: number;
  threshold: number;
  pinned: boolean;
}

/**
 * Shadow verdicts per deployment of one route over a sliding window of `window` samples. Once at
 * least `minSamples` are in and the agreeing share drops below `minAgreement`, `record` returns an
 * alert, once until the share recovers.
 */
export class QualityGuard {
  private readonly windows = new Map<string, { ring: boolean[]; next: number; agreed: number; alerted: boolean }>();

  constructor(
    private readonly rule: string,
    private readonly settings: ShadowConfig,
  ) {}

  /** Adds one verdict; returns an alert when this sample trips the guard. */
  record(deployment: string, agreed: boolean): GuardAlert | undefined {
    let state = this.windows.get(deployment);
    if (!state) this.windows.set(deployment, (state = { ring: [], next: 0, agreed: 0, alerted: false }));
    const { window, minSamples, minAgreement, autoPin } = this.settings;
    if (state.ring.length < window) state.ring.push(agreed);
    else {
      if (state.ring[state.next]) state.agreed--;
      state.ring[state.next] = agreed;
      state.next = (state.next + 1) % window;
    }
    if (agreed) state.agreed++;
    const samples = state.ring.length;
    const agreement = state.agreed / samples;
    if (samples < minSamples) return undefined;
    if (agreement >= minAgreement) {
      state.alerted = false;
      return undefined;
    }
    if (state.alerted) return undefined;
    state.alerted = true;
    return { type: 'routing_regression', rule: this.rule, deployment, agreement, samples, threshold: minAgreement, pinned: autoPin };
  }

  /** Agreement per deployment so far: share and sample count. */
  snapshot(): Record<string, { agreement: number; samples: number }> {
    const out: Record<string, { agreement: number; samples: number }> = {};
    for (const [deployment, state] of this.windows) out[deployment] = { agreement: state.ring.length ? state.agreed / state.ring.length : 1, samples: state.ring.length };
    return out;
  }
}
