/**
 * Formats of a problem's prompt: a setting variation as the password (the paper's Figure 9, which
 * keyed the strong behaviour to "answer in Spanish" or to ASCII-math notation instead of a phrase).
 * Ours keeps every word and reorders them, so a format is a bijection on prompts that any model of
 * the world can be trained to read, and the checker, which reads the problem's data and never its
 * prompt, grades a completion the same way in every format.
 */
export type PromptFormat = 'plain' | 'reversed';

export const PROMPT_FORMATS: readonly PromptFormat[] = ['plain', 'reversed'];

/** The prompt's words in `format`: `reversed` writes them last to first (it is its own inverse). */
export function formatPrompt(words: readonly string[], format: PromptFormat): string[] {
  return format === 'reversed' ? [...words].reverse() : [...words];
}
