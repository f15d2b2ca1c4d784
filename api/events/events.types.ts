import type { Position } from './position';

/** An event to append; its domain decides what `type` and `payload` hold. */
export interface EventDraft {
  kind: string;
  subjectId: string;
  type: string;
  /** Any JSON value. */
  payload: unknown;
}

/** An event as read back from the log. */
export interface EventRecord {
  position: Position;
  /** The position as clients hold it. */
  cursor: string;
  kind: string;
  subjectId: string;
  type: string;
  at: Date;
  payload: unknown;
}

/** Which events a read returns; the position still moves past those it leaves out. */
export interface EventSelection {
  kind?: string;
  subjectId?: string;
  /**
   * Only events of these kinds carry their payload; the others come with a null one.
   * For a reader that passes over most kinds: a payload is most of what reading an
   * event costs (an alert's holds its agent, its labels and its texts).
   */
  payloadOf?: readonly string[];
}
