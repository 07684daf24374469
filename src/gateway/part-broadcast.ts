import type { StreamPart } from '../core/types.js';

/**
 * One producer's stream parts, readable by any number of subscribers from the start, live. Used
 * for idempotent streams: the generation runs detached from the first client, and duplicates
 * that arrive while it runs attach to the same parts instead of generating again.
 */
export class PartBroadcast {
  private readonly parts: StreamPart[] = [];
  private ended = false;
  private wake: Array<() => void> = [];

  /** Every part so far. */
  get received(): readonly StreamPart[] {
    return this.parts;
  }

  /** Appends a part and wakes subscribers. */
  push(part: StreamPart): void {
    this.parts.push(part);
    this.notify();
  }

  /** Marks the end; subscribers finish after the last part. */
  end(): void {
    this.ended = true;
    this.notify();
  }

  /** Every part from the first, then live ones until the end. Leaving early never affects the producer. */
  async *subscribe(): AsyncGenerator<StreamPart> {
    let index = 0;
    for (;;) {
      while (index < this.parts.length) yield this.parts[index++]!;
      if (this.ended) return;
      await new Promise<void>((resolve) => this.wake.push(resolve));
    }
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }
}
