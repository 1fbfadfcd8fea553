/**
 * Path confinement for everything a client or a config names (dataset folders, model files, run folders,
 * embeddings files): a path is accepted only when its real location — after resolving `..` and following
 * every symlink that already exists — lies inside one of the allowed roots. A daemon that accepts requests
 * must not become a way to read or write arbitrary files of the user running it (CWE-22 path traversal,
 * CWE-59 link following).
 *
 * The part of a path that does not exist yet (a run folder about to be created) cannot hold a symlink now;
 * its existing prefix is realpath'd, so `runs/x` under a symlinked `runs` → `/etc` is refused.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ErrorCode, ProtocolError } from '../protocol/message';

/** Longest paths accepted (bytes of the string), far above any real one. */
export const MAX_PATH_LENGTH = 4096;

/**
 * `abs` (absolute, normalised) with its longest existing prefix replaced by that prefix's real path.
 * Symlinks inside the existing prefix are followed; a dangling symlink is treated as not existing and its
 * target is resolved from the link text (so a dangling link out of the root is still caught).
 */
export function realpathLongestPrefix(abs: string): string {
  const rest: string[] = [];
  let cur = abs;
  for (let hops = 0; hops < 256; hops++) {
    let st: fs.Stats | undefined;
    try { st = fs.lstatSync(cur); } catch { st = undefined; }
    if (st) {
      if (st.isSymbolicLink()) {
        let real: string | undefined;
        try { real = fs.realpathSync.native(cur); } catch { real = undefined; }
        if (real === undefined) {
          // Dangling link: follow its text by hand, it may point outside the roots once created.
          const target = path.resolve(path.dirname(cur), fs.readlinkSync(cur));
          return path.join(realpathLongestPrefix(target), ...rest.reverse());
        }
        return path.join(real, ...rest.reverse());
      }
      return path.join(fs.realpathSync.native(cur), ...rest.reverse());
    }
    const parent = path.dirname(cur);
    if (parent === cur) return path.join(cur, ...rest.reverse());
    rest.push(path.basename(cur));
    cur = parent;
  }
  throw new Error(`path ${abs}: too many levels of symbolic links`);
}

/** True when `p` is `root` or lies below it (both absolute and real). */
export function isInside(p: string, root: string): boolean {
  if (p === root) return true;
  const prefix = root.endsWith(path.sep) ? root : root + path.sep;
  return p.startsWith(prefix);
}

/**
 * Resolves `p` (relative to `roots[0]`, or absolute) to its real path and returns it when it lies inside one
 * of `roots`; otherwise throws `ProtocolError(PathNotAllowed)` naming `what`, the path and the allowed roots.
 * `what` says which value this is, e.g. `"train params.config"` or `"config dataset.path"`.
 */
export function confinePath(p: string, roots: readonly string[], what: string): string {
  if (typeof p !== 'string' || p.length === 0) {
    throw new ProtocolError(ErrorCode.PathNotAllowed, `${what}: expected a non-empty path string, got ${p === '' ? 'an empty string' : typeof p}`);
  }
  if (p.length > MAX_PATH_LENGTH) {
    throw new ProtocolError(ErrorCode.PathNotAllowed, `${what}: path is ${p.length} characters long (limit ${MAX_PATH_LENGTH})`);
  }
  if (p.includes('\0')) throw new ProtocolError(ErrorCode.PathNotAllowed, `${what}: path contains a NUL character`);
  if (roots.length === 0) throw new ProtocolError(ErrorCode.PathNotAllowed, `${what}: no allowed roots are configured, so "${p}" cannot be used`);
  const realRoots = roots.map((r) => realpathLongestPrefix(path.resolve(r)));
  const real = realpathLongestPrefix(path.resolve(roots[0], p));
  if (realRoots.some((r) => isInside(real, r))) return real;
  throw new ProtocolError(ErrorCode.PathNotAllowed,
    `${what}: "${p}" resolves to ${real}, which is outside the allowed roots (${roots.join(', ')}); ` +
    'add its folder with "faceinv daemon --data-root DIR" if it is meant to be readable',
    { path: p, resolved: real, roots: [...roots] });
}
