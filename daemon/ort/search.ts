/**
 * The white-box search engine on ONNX Runtime: the fused step graph (./searchGraph.ts) and the render graph
 * as two sessions, behind daemon/nets/latentSearch.ts's `SearchEngine`, so `latentSearchOn` runs G and E
 * natively. Build it from any OrtGenerator (the W1 decoder, a PCA face model, …) and an ONNX encoder.
 */
import * as ort from 'onnxruntime-node';
import type { CropSpec, SearchEngine } from '../nets/latentSearch';
import type { OnnxEncoderSource } from './encoderGraph';
import type { OrtGenerator } from './generators';
import { buildScorerGraphs, encoderScorer, type SearchScorer } from './searchGraph';
import { createSession, OrtSession, SessionSettings } from './session';

export class OrtSearch implements SearchEngine {
  private constructor(readonly generator: OrtGenerator, readonly scorer: SearchScorer, private readonly stepS: OrtSession, private readonly renderS: OrtSession) {}

  get outputSize(): number { return this.generator.outputSize; }
  get provider(): { provider: 'cpu' | 'cuda'; reason: string } { return { provider: this.stepS.provider, reason: this.stepS.reason }; }

  static async create(G: OrtGenerator, E: OnnxEncoderSource, crop: CropSpec, priorWeight: number, settings: SessionSettings = {}): Promise<OrtSearch> {
    return OrtSearch.withScorer(G, encoderScorer(E, crop), priorWeight, settings);
  }

  /** The same search scored by any differentiable scorer (a surrogate encoder behind its frame warp). */
  static async withScorer(G: OrtGenerator, scorer: SearchScorer, priorWeight: number, settings: SessionSettings = {}): Promise<OrtSearch> {
    const g = buildScorerGraphs(G, scorer, priorWeight);
    const step = await createSession(g.step, `the latent step graph (${G.kind} → ${scorer.id})`, settings);
    try {
      const render = await createSession(g.render, `the generator graph (${G.kind})`, { ...settings, profile: false });
      return new OrtSearch(G, scorer, step, render);
    } catch (e) {
      await step.session.release();
      throw e;
    }
  }

  /** The step session (for profiling: see ./session.ts readProfile). */
  get stepSession(): OrtSession { return this.stepS; }

  async lossAndGrad(z: Float32Array, targets: Float32Array, active: Float32Array, n: number): Promise<{ loss: Float32Array; cos: Float32Array; grad: Float32Array }> {
    const D = this.generator.latentDim; const d = this.scorer.dim;
    if (z.length !== n * D || targets.length !== n * d || active.length !== n) {
      throw new Error(`white-box step: z must be [${n}, ${D}], targets [${n}, ${d}], active [${n}]; got ${z.length}, ${targets.length}, ${active.length} values`);
    }
    const out = await this.stepS.session.run({
      z: new ort.Tensor('float32', z, [n, D]), targets: new ort.Tensor('float32', targets, [n, d]), active: new ort.Tensor('float32', active, [n]),
    }, ['loss', 'cos', 'grad']);
    return { loss: out.loss.data as Float32Array, cos: out.cos.data as Float32Array, grad: out.grad.data as Float32Array };
  }

  async render(z: Float32Array, n: number): Promise<Float32Array> {
    const out = await this.renderS.session.run({ z: new ort.Tensor('float32', z, [n, this.generator.latentDim]) }, ['image']);
    return out.image.data as Float32Array;
  }

  async dispose(): Promise<void> {
    await this.stepS.session.release();
    await this.renderS.session.release();
  }
}
