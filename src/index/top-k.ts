/** Keeps the k best (highest-score) hits seen so far in a binary min-heap: O(n log k) over n candidates. */
import type { VectorHit } from './types.ts';

export class TopK {
  private readonly labels: number[] = [];
  private readonly scores: number[] = [];

  constructor(private readonly k: number) {}

  /** The score a candidate must beat to enter (−Infinity while fewer than k are held). */
  get threshold(): number {
    return this.scores.length < this.k ? Number.NEGATIVE_INFINITY : (this.scores[0] ?? Number.NEGATIVE_INFINITY);
  }

  offer(label: number, score: number): void {
    if (this.k <= 0) return;
    if (this.scores.length < this.k) {
      this.labels.push(label);
      this.scores.push(score);
      this.siftUp(this.scores.length - 1);
    } else if (score > (this.scores[0] ?? Number.NEGATIVE_INFINITY)) {
      this.labels[0] = label;
      this.scores[0] = score;
      this.siftDown(0);
    }
  }

  /** Best first. */
  result(): VectorHit[] {
    return this.labels
      .map((label, i) => ({ label, score: this.scores[i] ?? Number.NEGATIVE_INFINITY }))
      .sort((a, b) => b.score - a.score || a.label - b.label);
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.score(parent) <= this.score(i)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.scores.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < n && this.score(left) < this.score(smallest)) smallest = left;
      if (right < n && this.score(right) < this.score(smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private score(i: number): number {
    return this.scores[i] ?? Number.NEGATIVE_INFINITY;
  }

  private swap(a: number, b: number): void {
    const label = this.labels[a] ?? 0;
    const score = this.score(a);
    this.labels[a] = this.labels[b] ?? 0;
    this.scores[a] = this.score(b);
    this.labels[b] = label;
    this.scores[b] = score;
  }
}
