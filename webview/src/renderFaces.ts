/**
 * Draws the reconstructed faces next to their originals (a grid; original left, reconstruction right), with
 * the per-item cosine and verdict (the strictest FMR it passes, no match, or no face) when the evaluation has them; a click enlarges one pair,
 * from where either image opens in an editor tab. Cards come shaped by dashboardData.faceCards; a picture
 * still on its way from the daemon is drawn as a placeholder of the same size.
 */
import { h, type Child } from './dom';
import type { FaceCard } from './dashboardData';

export interface FaceActions {
  enlarge(id: string | undefined): void;
  open(id: string, which: 'image' | 'original'): void;
}

function pair(card: FaceCard, cls: string): HTMLElement {
  return h('div', { class: `pair ${cls}` }, [
    card.originalUri
      ? h('img', { class: 'original', title: 'original (aligned)', attrs: { src: card.originalUri, alt: `original ${card.id}` } })
      : h('div', { class: `original missing${card.hasOriginal ? ' loading' : ''}`, text: card.hasOriginal ? '…' : 'no original' }),
    card.imageUri
      ? h('img', { class: 'recon', title: 'reconstruction', attrs: { src: card.imageUri, alt: `reconstruction ${card.id}` } })
      : h('div', { class: 'recon missing loading', text: '…' }),
  ]);
}

function verdict(card: FaceCard): Child {
  if (card.verdict === undefined) return null;
  const text = card.verdict === 'hit' ? `match @${card.passesAt}` : card.verdict === 'no-face' ? 'no face' : 'no match';
  const title = card.verdict === 'no-face'
    ? `the detector found no face in this reconstruction (${card.failure ?? 'failed'}): a failed attack under re-detection`
    : 'type I by the attacked encoder, re-detected: the strictest false match rate at which it is accepted';
  return h('span', { class: `badge ${card.verdict}`, attrs: { 'data-verdict': card.verdict }, text, title });
}

export function renderFaces(cards: FaceCard[], act: FaceActions): Child[] {
  if (cards.length === 0) return [h('p', { class: 'empty', text: 'No reconstructions yet (reconstructions/index.json).' })];
  return [h('div', { class: 'faces', attrs: { 'data-testid': 'faces' } }, cards.map((c) => h('figure', {
    class: 'face', title: `${c.identity ?? c.id} — click to enlarge`, attrs: { tabindex: '0', 'data-id': c.id },
    on: {
      click: () => act.enlarge(c.id),
      keydown: (ev) => { if ((ev as KeyboardEvent).key === 'Enter') act.enlarge(c.id); },
    },
  }, [
    pair(c, 'small'),
    h('figcaption', {}, [h('span', { class: 'who', text: c.identity ?? c.id }), h('span', { class: 'muted', text: c.caption }), verdict(c)]),
  ])))];
}

/** The enlarged pair (an overlay), or nothing when no card is enlarged / the card is gone. */
export function renderLightbox(card: FaceCard | undefined, act: FaceActions): Child[] {
  if (!card) return [];
  return [h('div', {
    class: 'lightbox', attrs: { role: 'dialog', 'aria-label': `enlarged ${card.id}` },
    on: { click: (ev) => { if (ev.target === ev.currentTarget) act.enlarge(undefined); } },
  }, [
    h('div', { class: 'lightbox-body' }, [
      pair(card, 'large'),
      h('div', { class: 'lightbox-bar' }, [
        h('span', { class: 'who', text: card.identity ?? card.id }), ' ', h('span', { class: 'muted', text: card.caption }), ' ', verdict(card),
        h('span', { class: 'spacer' }),
        card.hasOriginal ? h('button', { text: 'Open original', on: { click: () => act.open(card.id, 'original') } }) : null,
        h('button', { text: 'Open reconstruction', on: { click: () => act.open(card.id, 'image') } }),
        h('button', { text: 'Close', on: { click: () => act.enlarge(undefined) } }),
      ]),
    ]),
  ])];
}
