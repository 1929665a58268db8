// Gradient rules for the shape op family (filled in by its own module; see context.ts for the rule interface).
import type { GradRule } from '../context';

export const SHAPE_RULES: Record<string, GradRule> = {};
