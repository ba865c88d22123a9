/**
 * One-line notes about files the toolkit read that are worth knowing but no error, e.g. a model
 * written before skelprune recorded integrity checksums. The CLI prints them to stderr (`onNote`).
 * Each distinct note is given once per process.
 */
type NoteListener = (note: string) => void;

const listeners = new Set<NoteListener>();
const given = new Set<string>();

/** Calls `listener` with every note from now on; returns a function that stops it. */
export function onNote(listener: NoteListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function note(text: string): void {
  if (given.has(text)) return;
  given.add(text);
  for (const listener of listeners) listener(text);
}

/** The note for a file read without an integrity check (it records no checksum). */
export function noteUnchecked(path: string): void {
  note(`${path} records no checksum (written by an older skelprune): its contents were not verified`);
}
