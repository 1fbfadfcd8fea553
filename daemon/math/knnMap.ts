/**
 * A nonparametric template map: a query's prediction is the softmax(cos/τ)-weighted average of the outputs of
 * its k most similar training inputs (cosine on the inputs) — Nadaraya–Watson regression restricted to the
 * nearest neighbours. Optionally as a correction of a linear ridge map (`linear`): the neighbours then lend
 * their residuals (output − linear prediction), i.e. the local error the linear map makes around the query.
 */
import { checkPairs, linearPart, unitRows } from './kernelRidge';
import { applyRidge, type RidgeMap } from './ridge';

export interface KnnOptions { k: number; temperature: number; linear?: number }

export interface KnnMap {
  inputDim: number;
  outputDim: number;
  units: Float32Array;
  /** What the neighbours lend: outputs, or residuals of `linear`. */
  values: Float32Array;
  n: number;
  k: number;
  temperature: number;
  linear?: RidgeMap;
}

export function fitKnnMap(inputs: Float32Array, outputs: Float32Array, n: number, inputDim: number, outputDim: number, o: KnnOptions): KnnMap {
  checkPairs('kNN map', inputs, outputs, n, inputDim, outputDim);
  if (!(Number.isInteger(o.k) && o.k >= 1)) throw new Error(`kNN map: k must be an integer ≥ 1, got ${o.k}`);
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) throw new Error(`kNN map: τ must be a finite number > 0, got ${o.temperature}`);
  const { linear, target } = linearPart(inputs, outputs, n, inputDim, outputDim, o.linear);
  const values = linear ? target : Float32Array.from(outputs);
  return { inputDim, outputDim, units: unitRows(inputs, inputDim), values, n, k: Math.min(o.k, n), temperature: o.temperature, ...(linear ? { linear } : {}) };
}

export function applyKnnMap(map: KnnMap, inputs: Float32Array, n: number): Float32Array {
  if (inputs.length !== n * map.inputDim) throw new Error(`kNN map: [${inputs.length}] inputs are not ${n} rows of ${map.inputDim}`);
  const d = map.inputDim, od = map.outputDim;
  const q = unitRows(inputs, d);
  const out = map.linear ? applyRidge(map.linear, inputs, n) : new Float32Array(n * od);
  const sims = new Float64Array(map.n);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < map.n; j++) {
      let s = 0;
      for (let i = 0; i < d; i++) s += q[r * d + i] * map.units[j * d + i];
      sims[j] = s;
    }
    const top = topK(sims, map.k);
    // Softmax over the neighbours' cosines, shifted by the best for stability.
    const w = top.map((j) => Math.exp((sims[j] - sims[top[0]]) / map.temperature));
    const z = w.reduce((a, b) => a + b, 0);
    top.forEach((j, t) => { for (let c = 0; c < od; c++) out[r * od + c] += (w[t] / z) * map.values[j * od + c]; });
  }
  return out;
}

/** Indices of the k largest values, largest first. */
function topK(a: Float64Array, k: number): number[] {
  const idx: number[] = [];
  for (let j = 0; j < a.length; j++) {
    if (idx.length === k && a[j] <= a[idx[k - 1]]) continue;
    let at = idx.length === k ? k - 1 : idx.length;
    if (idx.length < k) idx.push(j);
    while (at > 0 && a[idx[at - 1]] < a[j]) { idx[at] = idx[at - 1]; at--; }
    idx[at] = j;
  }
  return idx;
}
