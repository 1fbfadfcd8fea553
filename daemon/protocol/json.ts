/** Plain JSON value checks shared by every module that reads untrusted JSON (messages, files, configs). */

/** True for a non-null, non-array object (a JSON object once parsed). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
