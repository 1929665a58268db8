// Chart colours and fonts, taken from VS Code's theme (CSS variables on the webview's <html>). Pure: the reader of
// the variables is passed in, so a standalone report can supply its own palette.

export interface ChartTheme {
  foreground: string;
  /** Muted text: axis titles, tick labels. */
  mutedForeground: string;
  background: string;
  /** Bar fill. */
  accent: string;
  grid: string;
  fontFamily: string;
  /** Pixels. */
  fontSize: number;
  hoverBackground: string;
  hoverForeground: string;
  hoverBorder: string;
}

/** Dark+ defaults, for variables a host does not set. */
export const DEFAULT_DARK: ChartTheme = {
  foreground: '#cccccc',
  mutedForeground: '#9d9d9d',
  background: '#1f1f1f',
  accent: '#3794ff',
  grid: '#3c3c3c',
  fontFamily: '-apple-system, BlinkMacSystemFont, "Segoe WPC", "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  fontSize: 13,
  hoverBackground: '#202020',
  hoverForeground: '#cccccc',
  hoverBorder: '#454545',
};

/** Light+ defaults. */
export const DEFAULT_LIGHT: ChartTheme = {
  ...DEFAULT_DARK,
  foreground: '#3b3b3b',
  mutedForeground: '#6f6f6f',
  background: '#ffffff',
  accent: '#1a85ff',
  grid: '#e5e5e5',
  hoverBackground: '#f8f8f8',
  hoverForeground: '#3b3b3b',
  hoverBorder: '#c8c8c8',
};

/**
 * The theme from VS Code's CSS variables. `cssVar('--vscode-editor-foreground')` returns the variable's value or ''
 * when unset; `dark` picks the fallbacks.
 */
export function themeFromCssVars(cssVar: (name: string) => string, dark: boolean): ChartTheme {
  const d = dark ? DEFAULT_DARK : DEFAULT_LIGHT;
  const v = (...names: string[]): string | undefined => {
    for (const n of names) {
      const x = cssVar(n).trim();
      if (x) return x;
    }
    return undefined;
  };
  const size = parseFloat(v('--vscode-font-size') ?? '');
  return {
    foreground: v('--vscode-editor-foreground', '--vscode-foreground') ?? d.foreground,
    mutedForeground: v('--vscode-descriptionForeground', '--vscode-editor-foreground') ?? d.mutedForeground,
    background: v('--vscode-editor-background') ?? d.background,
    accent: v('--vscode-charts-blue', '--vscode-button-background') ?? d.accent,
    grid: v('--vscode-charts-lines', '--vscode-editorWidget-border', '--vscode-panel-border') ?? d.grid,
    fontFamily: v('--vscode-font-family') ?? d.fontFamily,
    fontSize: Number.isFinite(size) && size > 0 ? size : d.fontSize,
    hoverBackground:
      v('--vscode-editorHoverWidget-background', '--vscode-editorWidget-background') ?? d.hoverBackground,
    hoverForeground: v('--vscode-editorHoverWidget-foreground', '--vscode-editor-foreground') ?? d.hoverForeground,
    hoverBorder: v('--vscode-editorHoverWidget-border', '--vscode-editorWidget-border') ?? d.hoverBorder,
  };
}

/** Hover labels in the theme's colours (shared by every chart builder). */
export function hoverLabel(theme: ChartTheme): Record<string, unknown> {
  return {
    bgcolor: theme.hoverBackground,
    bordercolor: theme.hoverBorder,
    font: { family: theme.fontFamily, size: theme.fontSize, color: theme.hoverForeground },
    align: 'left',
  };
}
