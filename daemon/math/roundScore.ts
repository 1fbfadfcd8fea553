/**
 * A score as a system that answers `decimals` decimal places gives it (issue 25: services that round their
 * scores): the service, the attacks that simulate it and the benches all round here, so they agree to the bit.
 */
export function roundScore(score: number, decimals: number | undefined): number {
  return decimals === undefined ? score : Number(score.toFixed(decimals));
}
