/**
 * The probe set's design (daemon/attack/oracle/probeDesign.ts): the greedy D-optimal choice takes the most
 * varied answers first, never a candidate whose answers repeat one already chosen, and gives a design whose
 * answers' covariance has a larger log-determinant than the first candidates in order; bad input is refused.
 */
import * as assert from 'node:assert/strict';
import { designedProbeRows, designFromAnswers } from '../../../daemon/attack/oracle/probeDesign';
import { mulberry32 } from '../../../daemon/data/split';

const rand = mulberry32(11);
const g = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

/** [m, c] answers of c candidates: each a mix of `k` hidden traits with its own loadings and weight. */
function answersOf(m: number, c: number, k: number, weight: (j: number) => number): Float32Array {
  const traits = Array.from({ length: m * k }, g);
  const load = Array.from({ length: c * k }, g);
  const a = new Float32Array(m * c);
  for (let i = 0; i < m; i++) for (let j = 0; j < c; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += traits[i * k + t] * load[j * k + t];
    a[i * c + j] = weight(j) * s + 0.01 * g();
  }
  return a;
}

function logDetCov(answers: Float32Array, m: number, c: number, cols: number[]): number {
  const p = cols.length, mean = cols.map((j) => { let s = 0; for (let i = 0; i < m; i++) s += answers[i * c + j]; return s / m; });
  const C = Array.from({ length: p }, (_, a) => Array.from({ length: p }, (_, b) => {
    let s = 0;
    for (let i = 0; i < m; i++) s += (answers[i * c + cols[a]] - mean[a]) * (answers[i * c + cols[b]] - mean[b]);
    return s / (m - 1);
  }));
  let ld = 0; // Cholesky
  const L = C.map(() => new Array<number>(p).fill(0));
  for (let j = 0; j < p; j++) {
    let d = C[j][j];
    for (let t = 0; t < j; t++) d -= L[j][t] ** 2;
    L[j][j] = Math.sqrt(d);
    ld += Math.log(d);
    for (let i = j + 1; i < p; i++) { let s = C[i][j]; for (let t = 0; t < j; t++) s -= L[i][t] * L[j][t]; L[i][j] = s / L[j][j]; }
  }
  return ld;
}

describe('probe design (greedy D-optimal)', () => {
  it('takes the most varied answers first and never a repeat of a chosen one', () => {
    const m = 300, c = 40;
    const base = answersOf(m, c, 6, (j) => (j === 17 ? 3 : 1));
    // Column 39 repeats column 17 exactly: once 17 is chosen it says nothing new.
    const a = new Float32Array(base);
    for (let i = 0; i < m; i++) a[i * c + 39] = a[i * c + 17];
    const d = designFromAnswers(a, m, c, 8);
    assert.ok([17, 39].includes(d.chosen[0]), `the loudest candidate (17, or its copy 39) comes first, got ${d.chosen[0]}`);
    assert.ok(!(d.chosen.includes(17) && d.chosen.includes(39)), `a candidate and its copy both chosen: ${d.chosen}`);
    assert.equal(new Set(d.chosen).size, 8);
    for (let k = 1; k < d.residual.length; k++) assert.ok(d.residual[k] <= d.residual[k - 1] + 1e-9, 'residual variances do not grow');
  });

  it('gives answers more informative than the first candidates in order', () => {
    const m = 400, c = 120, p = 10;
    // Most candidates load on the same two traits (faces that all look alike to the system); a few carry others.
    const a = answersOf(m, c, 12, () => 1);
    const common = answersOf(m, c, 2, () => 1);
    for (let i = 0; i < m; i++) for (let j = 0; j < c; j++) if (j % 6 !== 0) a[i * c + j] = common[i * c + j] + 0.05 * a[i * c + j];
    const designed = designFromAnswers(a, m, c, p).chosen;
    const first = Array.from({ length: p }, (_, j) => j);
    assert.ok(logDetCov(a, m, c, designed) > logDetCov(a, m, c, first) + 5, `log det designed ${logDetCov(a, m, c, designed).toFixed(2)} vs first ${logDetCov(a, m, c, first).toFixed(2)}`);
  });

  it('refuses bad input with the reason', () => {
    const a = answersOf(10, 5, 2, () => 1);
    assert.throws(() => designFromAnswers(a, 10, 6, 2), /50 answers are not 10 rows of 6/);
    assert.throws(() => designFromAnswers(a, 10, 5, 6), /cannot choose 6 probes from 5/);
    assert.throws(() => designFromAnswers(a, 10, 5, 0), /cannot choose 0/);
    assert.throws(() => designFromAnswers(a.subarray(0, 5), 1, 5, 2), /at least 2 enrolled photos/);
    assert.throws(() => designFromAnswers(new Float32Array(50), 10, 5, 2, 0), /span fewer than 2 directions/);
  });
});

describe('designed probe rows (the audit\'s and the bench\'s choice)', () => {
  it('chooses among the first candidates by their answers against the photos after them', () => {
    const m = 60, c = 30, a = answersOf(m, c, 5, (j) => (j === 4 ? 3 : 1));
    // Rows 0..29 are candidates, 30..89 the enrolled photos that judge them.
    const answer = (p: number, r: number) => a[(r - 30) * c + p];
    const rows = designedProbeRows(Array.from({ length: 90 }, (_, i) => i), 5, answer, { candidates: 30, designRows: 60, jitter: 1e-4 });
    assert.equal(rows.length, 5);
    assert.equal(rows[0], 4, 'the loudest candidate first');
    assert.ok(rows.every((r) => r < 30), `only candidates chosen: ${rows}`);
  });

  it('splits a small photo set between candidates and judges, and refuses too few photos', () => {
    const seen: number[] = [];
    const rows = designedProbeRows(Array.from({ length: 20 }, (_, i) => i), 3, (p, r) => { seen.push(r); return Math.sin(p * 7 + r * 3); });
    assert.ok(rows.every((r) => r < 10), `candidates are the first half: ${rows}`);
    assert.ok(seen.every((r) => r >= 10), 'judged by the second half');
    assert.throws(() => designedProbeRows([0, 1, 2], 5, () => 0), /5 probes asked, but the attacker has only 3 photos/);
  });
});
