/**
 * The bench line: one line that sums up what `faceinv bench` measured on this machine, for the README to quote
 * beside the times it states, so that no figure in the README is one the machine it names could not
 * reproduce. Machine = cores and CPU model; load = the 1-minute load average before → after the run (figures
 * taken under load are slower, and the line says how loaded). A part that was not measured is left out.
 */
import * as os from 'node:os';

export interface BenchLineInput {
  loadBefore: number;
  loadAfter: number;
  queries: { encoder: string; projectQps: number; plainQps: number; ratio: number } | null;
  pipeline: { projectIps: number; plainIps: number; lfwSeconds: number } | null;
  /** The transfer scorer's faces/s, project path vs TF.js (absent: not measured). */
  transfer?: { encoder: string; projectFps: number; tfjsFps: number } | null;
  /** The independent protocol's detector, ms per image, network on ONNX Runtime vs TF.js (absent: not measured). */
  detector?: { ortMs: number; tfjsMs: number } | null;
  w1OrtMs: number | null;
  torchMs: number | null;
  whitebox: { targets: number; msPerStep: number } | null;
  /** Machine description (default: this machine's cores and CPU model). */
  machine?: string;
  /** Date (default today, UTC, YYYY-MM-DD). */
  date?: string;
}

export function thisMachine(): string {
  const cpus = os.cpus();
  const model = (cpus[0]?.model ?? 'unknown CPU').replace(/\s+/g, ' ').trim();
  return `${os.availableParallelism?.() ?? cpus.length} cores ${model}`;
}

export function benchLine(b: BenchLineInput): string {
  const parts = [
    b.date ?? new Date().toISOString().slice(0, 10),
    b.machine ?? thisMachine(),
    `load ${b.loadBefore.toFixed(1)}→${b.loadAfter.toFixed(1)}`,
  ];
  if (b.queries) parts.push(`${b.queries.encoder} ${b.queries.projectQps.toFixed(0)} queries/s = ×${b.queries.ratio.toFixed(2)} plain ORT (${b.queries.plainQps.toFixed(0)}/s)`);
  if (b.pipeline) parts.push(`LFW pipeline ${b.pipeline.projectIps.toFixed(0)} photos/s (all LFW ≈ ${b.pipeline.lfwSeconds.toFixed(0)} s; plain ORT ${b.pipeline.plainIps.toFixed(0)}/s)`);
  if (b.transfer) parts.push(`${b.transfer.encoder} ${b.transfer.projectFps.toFixed(0)} faces/s (TF.js ${b.transfer.tfjsFps.toFixed(0)}/s)`);
  if (b.detector) parts.push(`face-api SSD ${b.detector.ortMs.toFixed(0)} ms/image (TF.js ${b.detector.tfjsMs.toFixed(0)})`);
  if (b.w1OrtMs !== null) parts.push(`W1 step ${b.w1OrtMs.toFixed(0)} ms${b.torchMs !== null ? ` = ×${(b.w1OrtMs / b.torchMs).toFixed(3)} PyTorch` : ''}`);
  if (b.whitebox) parts.push(`white-box ${b.whitebox.msPerStep.toFixed(0)} ms/step (${b.whitebox.targets} targets)`);
  return `bench line: ${parts.join(' · ')}`;
}
