// What the language locks' tests feed them: sample tables and a tiny base.
import { tableFromColumns } from '@lockpick/artifacts';
import { Transformer } from '@lockpick/ml';
import { type LanguageProblem, LM_VOCABULARY } from '@lockpick/tasks';
import type * as arrow from 'apache-arrow';

/** A sample table as `datagen.language-samples` writes it: one completion per problem. */
export const sampleTable = (
  problems: readonly LanguageProblem[],
  completion: (i: number) => string,
): arrow.Table =>
  tableFromColumns({
    problem: problems.map((_, i) => i),
    sample: problems.map(() => 0),
    domain: problems.map((q) => q.domain),
    prompt: problems.map((q) => q.prompt.join(' ')),
    completion: problems.map((_, i) => completion(i)),
  });

/** A one-layer transformer over the language vocabulary, reading rows of `contextLength` tokens. */
export const tinyLanguageBase = (contextLength: number): Transformer =>
  new Transformer(
    {
      vocabSize: LM_VOCABULARY.size,
      contextLength,
      layers: 1,
      width: 16,
      heads: 2,
      mlpRatio: 4,
      bias: false,
    },
    1,
  );
