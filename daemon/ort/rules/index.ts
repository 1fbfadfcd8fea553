/** Op type → backward rule (one per primitive; composites carry their own). */
import type { GradRule } from '../graph';
import { CONV_RULES } from './conv';
import { ELEMENTWISE_RULES } from './elementwise';
import { LINEAR_RULES } from './linear';
import { REDUCE_RULES } from './reduce';
import { SHAPE_RULES } from './shape';

export const RULES: Readonly<Record<string, GradRule>> = {
  ...ELEMENTWISE_RULES, ...LINEAR_RULES, ...CONV_RULES, ...REDUCE_RULES, ...SHAPE_RULES,
};
