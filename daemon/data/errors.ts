/**
 * Typed failures of the face data pipeline. Every per-image problem (cannot read, not an image, corrupt,
 * too small, no face, encoder error) becomes a `FaceDataError` that names the file and the problem, so a run
 * over a dataset lists it in its summary and carries on instead of crashing.
 */

/** What went wrong with one image. */
export type FaceFailureKind =
  | 'unreadable' // the file system refused (missing, permission, a directory)
  | 'not-an-image' // the bytes are no known image format (e.g. a text file named .jpg)
  | 'corrupt' // a known format that does not decode (truncated, damaged)
  | 'too-small' // decodes, but a side is below the minimum we accept
  | 'no-face' // the detector found no face
  | 'landmarks-failed' // landmarks could not be placed (non-finite output, degenerate box)
  | 'embed-failed' // the encoder threw on this image
  | 'pipeline-error'; // an unexpected error in the pipeline itself (a bug or a crashed worker)

/** One image the pipeline could not use, as listed in run summaries and caches. */
export interface FaceFailure {
  /** Path of the image (as given to the pipeline, usually absolute). */
  file: string;
  kind: FaceFailureKind;
  /** Human-readable detail, e.g. the decoder's message. */
  detail: string;
}

export class FaceDataError extends Error {
  constructor(readonly file: string, readonly kind: FaceFailureKind, readonly detail: string) {
    super(`${file}: ${kind}: ${detail}`);
    this.name = 'FaceDataError';
  }

  toFailure(): FaceFailure {
    return { file: this.file, kind: this.kind, detail: this.detail };
  }
}

/** Turns anything thrown while processing `file` into a FaceFailure (unexpected errors keep their message). */
export function toFailure(file: string, err: unknown, fallbackKind: FaceFailureKind): FaceFailure {
  if (err instanceof FaceDataError) return err.toFailure();
  const msg = err instanceof Error ? err.message : String(err);
  return { file, kind: fallbackKind, detail: msg };
}
