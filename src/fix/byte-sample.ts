/**
 * Which keys `fix --apply` measures with MEMORY USAGE, for the "will be freed" figure. Asking
 * it of every key written cost the server about as much as the write itself (bench:fix), for
 * a figure that only needs to be close. So each rule's first keys are measured, then one key in
 * `every`, in walk order: deterministic (the same walk measures the same keys), exact for
 * rules with few keys, and, as SCAN's order has nothing to do with a key's size, a fair
 * sample of the rest. The tally scales each rule's measured bytes to the keys it wrote.
 */
import type { KeyDecision } from './plan.js';
import type { Measure } from './writer.js';

/** Keys of each rule measured before sampling starts: small rules stay exact. */
export const MEASURE_FIRST = 100;
/** After those, one key in this many is measured. */
export const MEASURE_EVERY = 16;

export class ByteSample {
  /** Keys sent so far per rule index. */
  private readonly seen: number[] = [];

  constructor(
    private readonly first = MEASURE_FIRST,
    private readonly every = MEASURE_EVERY,
  ) {}

  /** The mask for one write call's keys, in order ('1' when every key is measured). */
  mask(decisions: KeyDecision[]): Measure {
    let all = true;
    let mask = '';
    for (const d of decisions) {
      const rule = d.rule?.index ?? -1;
      const n = rule < 0 ? 0 : (this.seen[rule] = (this.seen[rule] ?? 0) + 1);
      const measure = n <= this.first || n % this.every === 0;
      all &&= measure;
      mask += measure ? '1' : '0';
    }
    return all ? true : mask;
  }
}
