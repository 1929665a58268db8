// Gradient rules for the nn op family (filled in by its own module; see context.ts for the rule interface).
import type { GradRule } from '../context';

export const NN_RULES: Record<string, GradRule> = {};
