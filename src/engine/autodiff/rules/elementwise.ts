// Gradient rules for the elementwise op family (filled in by its own module; see context.ts for the rule interface).
import type { GradRule } from '../context';

export const ELEMENTWISE_RULES: Record<string, GradRule> = {};
