/**
 * LFW protocol files (Huang et al., "Labeled Faces in the Wild", UMass TR 07-49, 2007): `pairs.txt` (View 2:
 * a header "10 300", then per fold 300 matched pairs `name i j` followed by 300 mismatched pairs
 * `name1 i name2 j`) and `lfw-names.txt` (`name count`). Image i of a person is `<name>/<name>_<iiii>.jpg`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface LfwPair {
  /** 0-based fold. */
  fold: number;
  /** Relative image paths `<name>/<name>_<iiii>.jpg`. */
  a: string;
  b: string;
  /** Same person. */
  match: boolean;
}

export interface LfwPairs {
  folds: number;
  /** Matched (= mismatched) pairs per fold. */
  perFold: number;
  pairs: LfwPair[];
}

export function lfwImageRel(name: string, index: number): string {
  if (!Number.isInteger(index) || index < 1) throw new Error(`LFW image index must be a positive integer, got ${index} for ${name}`);
  return `${name}/${name}_${String(index).padStart(4, '0')}.jpg`;
}

/** Parses pairs.txt text; `file` names the source in errors (with the line number). */
export function parsePairs(text: string, file = 'pairs.txt'): LfwPairs {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (lines.length === 0) throw new Error(`${file}: empty`);
  const head = lines[0].split(/\s+/).map(Number);
  if (head.length !== 2 || !head.every((n) => Number.isInteger(n) && n > 0)) {
    throw new Error(`${file}:1: expected "<folds> <pairs per fold>", got "${lines[0]}"`);
  }
  const [folds, perFold] = head;
  const expected = 1 + folds * perFold * 2;
  if (lines.length !== expected) {
    throw new Error(`${file}: ${lines.length - 1} pair lines, expected ${folds} folds × ${perFold} × 2 = ${expected - 1}`);
  }
  const pairs: LfwPair[] = [];
  const num = (s: string, ln: number) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${file}:${ln}: "${s}" is not an image number`);
    return n;
  };
  for (let f = 0; f < folds; f++) {
    for (let k = 0; k < perFold * 2; k++) {
      const ln = 2 + f * perFold * 2 + k;
      const parts = lines[ln - 1].split(/\s+/);
      const match = k < perFold;
      if (match && parts.length === 3) {
        pairs.push({ fold: f, a: lfwImageRel(parts[0], num(parts[1], ln)), b: lfwImageRel(parts[0], num(parts[2], ln)), match });
      } else if (!match && parts.length === 4) {
        pairs.push({ fold: f, a: lfwImageRel(parts[0], num(parts[1], ln)), b: lfwImageRel(parts[2], num(parts[3], ln)), match });
      } else {
        throw new Error(`${file}:${ln}: expected a ${match ? 'matched pair "name i j"' : 'mismatched pair "name1 i name2 j"'}, got "${lines[ln - 1]}"`);
      }
    }
  }
  return { folds, perFold, pairs };
}

/** Parses lfw-names.txt: person → image count. */
export function parseNames(text: string, file = 'lfw-names.txt'): Map<string, number> {
  const out = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    const parts = t.split(/\s+/);
    const n = Number(parts[1]);
    if (parts.length !== 2 || !Number.isInteger(n) || n < 1) throw new Error(`${file}:${i + 1}: expected "name count", got "${t}"`);
    out.set(parts[0], n);
  });
  return out;
}

/** Finds `name` (e.g. pairs.txt) in the dataset folder the user gave, its identity root, or their parent. */
export function findProtocolFile(dirs: string[], name: string): string | null {
  for (const d of dirs) {
    for (const cand of [path.join(d, name), path.join(path.dirname(d), name)]) {
      if (fs.existsSync(cand)) return cand;
    }
  }
  return null;
}

export function readPairs(file: string): LfwPairs {
  return parsePairs(fs.readFileSync(file, 'utf8'), file);
}
