// The registry of gradient rules: op type (default domain) → rule. One module per family of ops.
import type { GradRule } from '../context';
import { BASIC_RULES } from './basic';
import { ELEMENTWISE_RULES } from './elementwise';
import { SHAPE_RULES } from './shape';
import { NN_RULES } from './nn';

export const RULES: Record<string, GradRule> = { ...BASIC_RULES, ...ELEMENTWISE_RULES, ...SHAPE_RULES, ...NN_RULES };

/**
 * Ops whose outputs never carry a gradient (shape arithmetic, comparisons, integer outputs): the traversal treats
 * them as constants even when an input depends on a differentiated tensor.
 */
export const NON_DIFFERENTIABLE = new Set([
  'Shape',
  'Size',
  'ConstantOfShape',
  'Constant',
  'Equal',
  'Greater',
  'GreaterOrEqual',
  'Less',
  'LessOrEqual',
  'Not',
  'And',
  'Or',
  'Xor',
  'ArgMax',
  'ArgMin',
  'NonZero',
  'Range',
  'EyeLike',
  'RandomNormalLike',
  'RandomUniformLike',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'IsNaN',
  'IsInf',
]);
