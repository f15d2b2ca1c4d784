/** Tags typed into one text field: what is sent, or the piece to point out. */
export interface TypedTags {
  /** The tags, in the order typed; empty while `spaced` is set, so nothing is sent. */
  tags: string[];
  /** The first piece holding a space: a mistyped tag, not two tags. */
  spaced: string | undefined;
}

/**
 * A tag holds no spaces or commas (the server's rule): commas or new lines separate
 * tags, and a space is pointed out rather than taken for a separator.
 */
export function parseTags(text: string): TypedTags {
  const typed = text
    .split(/[,\n]/)
    .map((t) => t.trim())
    .filter(Boolean);
  const spaced = typed.find((t) => /\s/.test(t));
  return { tags: spaced ? [] : typed, spaced };
}

/** What a field says of a piece `parseTags` found with a space in it. */
export const spacedTagMessage = (spaced: string) => `Tags cannot contain spaces (“${spaced}”): separate tags with commas.`;
