// The part of plotly.js the pages use (loaded as a global by its own script tag, so the bundles stay small), and
// where they find it: null when the script did not load.
export interface PlotlyApi {
  react(
    el: HTMLElement,
    data: unknown[],
    layout: Record<string, unknown>,
    config?: Record<string, unknown>,
  ): Promise<unknown>;
  toImage(el: HTMLElement, o: Record<string, unknown>): Promise<string>;
  purge(el: HTMLElement): void;
  Plots: { resize(el: HTMLElement): void };
}

export function plotly(): PlotlyApi | null {
  return (window as unknown as { Plotly?: PlotlyApi }).Plotly ?? null;
}
