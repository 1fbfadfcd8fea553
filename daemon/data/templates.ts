/**
 * Named alignment templates: where five facial points must land in a square crop of side S. Encoder configs
 * (models/encoders/*.json, `alignment: { template, size }`) and the decoder's training targets refer to these
 * names; align.ts is the one implementation that uses them.
 *
 * - `arcface-5pt`: the ArcFace / InsightFace reference points for a 112×112 crop (Deng et al., CVPR 2019;
 *   the same values as faceplugin's REFERENCE_FACIAL_POINTS), scaled by S/112. Points: eye centres, nose tip,
 *   mouth corners (landmarks.ts `arcfacePointsFrom68`).
 * - `dlib-5pt-chip`: dlib's `get_face_chip_details` for its 5-point model (dlib/image_transforms/interpolation.h),
 *   unit-square points mapped by (padding + p) / (1 + 2·padding) · S with padding 0.25 — the chip dlib's
 *   face-recognition example (dlib_face_recognition_resnet_model_v1, which face-api's net is a port of) feeds
 *   at S = 150. Points: eye corners and nose base (landmarks.ts `dlibPointsFrom68`).
 * - `human-crop`: a box crop, not a landmark fit: the detector box made square around its centre and enlarged
 *   by 1.2, then resized to S — the way @vladmandic/human crops faces for its description models. Where the
 *   eyes land in it depends on the photo; `meanEyesAt` is where they land on average (HUMAN_CROP_EYES_112).
 */
import { ALIGNMENT_TEMPLATES, type AlignmentTemplate as TemplateId } from '../protocol/encoderConfig';
import type { Landmarks68, Points5 } from './landmarks';
import { arcfacePointsFrom68, dlibPointsFrom68 } from './landmarks';

/** The template names encoder configs may use (their one list is the config schema's). */
export type TemplateName = TemplateId;
export const TEMPLATE_NAMES: readonly TemplateName[] = ALIGNMENT_TEMPLATES;

/** A template that places five landmark-derived points by a similarity transform. */
export interface PointTemplate {
  kind: 'points';
  name: TemplateName;
  /** The five destination points for a crop of side `size`, in pixel coordinates of that crop. */
  pointsAt(size: number): Points5;
  /** Which five source points to take from the 68 landmarks. */
  fromLandmarks(lm: Landmarks68): Points5;
}

/** A template that crops a square around the detector box. */
export interface BoxTemplate {
  kind: 'box';
  name: TemplateName;
  /** Crop side = enlarge × max(box width, box height). */
  enlarge: number;
  /**
   * The eye centres' mean place in a crop of side `size` (left then right in the image), for the pipeline's
   * detector: a box crop has no fixed place for them, but a warp to a point template can start from the mean.
   */
  meanEyesAt(size: number): [[number, number], [number, number]];
}

export type AlignmentTemplate = PointTemplate | BoxTemplate;

export const ARCFACE_112: Points5 = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** dlib's unit-square 5-point template (parts 0..4 of shape_predictor_5_face_landmarks), before padding. */
export const DLIB5_UNIT: Points5 = [
  [0.8595674595992, 0.2134981538014],
  [0.6460604764104, 0.2289674387677],
  [0.1205750620789, 0.2137274526848],
  [0.3340850613712, 0.2290642403242],
  [0.4901123135679, 0.6277975316475],
];
export const DLIB_CHIP_PADDING = 0.25;

/**
 * The eye centres (arcfacePointsFrom68's first two points) in a `human-crop` crop of side 112, averaged over
 * the pipeline detector's faces of all of LFW (13,233 photos, face analysis fa1; scripts/box-warp-check.js
 * prints them for a sample, test/unit/data/faces.test.ts checks them on 120 photos). Their spread is large:
 * sd ≈ 5.9 px across and 3.0 px down, eye distance 29.6 ± 3.1 px. A warp from the mean is right for the average
 * face only, which is why it guides a search (a surrogate) and never scores.
 */
export const HUMAN_CROP_EYES_112: [[number, number], [number, number]] = [[40.65, 47.21], [70.21, 46.71]];

const TEMPLATES: Record<TemplateName, AlignmentTemplate> = {
  'arcface-5pt': {
    kind: 'points',
    name: 'arcface-5pt',
    pointsAt: (size) => ARCFACE_112.map(([x, y]) => [(x * size) / 112, (y * size) / 112]),
    fromLandmarks: arcfacePointsFrom68,
  },
  'dlib-5pt-chip': {
    kind: 'points',
    name: 'dlib-5pt-chip',
    pointsAt: (size) => DLIB5_UNIT.map(([x, y]) => [
      ((DLIB_CHIP_PADDING + x) / (1 + 2 * DLIB_CHIP_PADDING)) * size,
      ((DLIB_CHIP_PADDING + y) / (1 + 2 * DLIB_CHIP_PADDING)) * size,
    ]),
    fromLandmarks: dlibPointsFrom68,
  },
  'human-crop': {
    kind: 'box',
    name: 'human-crop',
    enlarge: 1.2,
    meanEyesAt: (size) => HUMAN_CROP_EYES_112.map(([x, y]) => [(x * size) / 112, (y * size) / 112]) as [[number, number], [number, number]],
  },
};

export function isTemplateName(v: unknown): v is TemplateName {
  return typeof v === 'string' && (TEMPLATE_NAMES as readonly string[]).includes(v);
}

/** The template called `name`; throws listing the known names otherwise. */
export function getTemplate(name: string): AlignmentTemplate {
  if (!isTemplateName(name)) {
    throw new Error(`unknown alignment template "${name}"; known: ${TEMPLATE_NAMES.join(', ')}`);
  }
  return TEMPLATES[name];
}

/** An alignment as encoder configs name it. */
export interface AlignmentSpec {
  template: TemplateName;
  /** Crop side in pixels. */
  size: number;
}

export function alignmentKey(a: AlignmentSpec): string {
  return `${a.template}-${a.size}`;
}
