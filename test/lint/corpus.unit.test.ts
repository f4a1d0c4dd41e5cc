/**
 * Accuracy on the labeled corpus (test/lint/corpus), printed per language and held to the
 * targets: precision >= 95% and recall >= 90%.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreCorpus, scoreTable } from './corpus-score.js';

test('corpus: precision >= 95% and recall >= 90% per language', async () => {
  const { scores, misses, skipped } = await scoreCorpus();
  console.log(scoreTable(scores));
  if (misses.length > 0) console.log(misses.join('\n'));
  assert.deepEqual(skipped, [], 'every corpus file parses');
  assert.ok(scores.length >= 2, 'the corpus covers JavaScript and TypeScript at least');
  for (const s of scores) {
    assert.ok(s.tp + s.fn >= 5, `${s.language}: at least 5 labeled positives in the corpus`);
    assert.ok(s.precision >= 0.95, `${s.language}: precision ${(s.precision * 100).toFixed(1)}% < 95%`);
    assert.ok(s.recall >= 0.9, `${s.language}: recall ${(s.recall * 100).toFixed(1)}% < 90%`);
  }
});
