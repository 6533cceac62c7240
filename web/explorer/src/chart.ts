// Line charts on canvas (uPlot): thousands of points draw without stutter.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export interface Chart {
  set(xs: number[], ys: (number | null)[]): void;
  destroy(): void;
}

// lineChart draws ys over xs (unix seconds) in el, as wide as el.
export function lineChart(el: HTMLElement, label: string, opts: { bars?: boolean; height?: number } = {}): Chart {
  const fg = cssVar('--fg', '#222');
  const grid = cssVar('--grid', 'rgba(128,128,128,0.2)');
  const accent = cssVar('--accent', '#1f6feb');
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const width = () => Math.max(240, el.clientWidth || 600);
  const plot = new uPlot({
    width: width(),
    height: opts.height ?? 220,
    scales: { x: { time: true } },
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    axes: [axis, { ...axis, size: 60 }],
    series: [
      {},
      {
        label,
        stroke: accent,
        width: 2,
        fill: opts.bars ? accent + '33' : undefined,
        points: { show: false },
        spanGaps: false,
      },
    ],
  }, [[], []], el);
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height: opts.height ?? 220 }));
  ro.observe(el);
  return {
    set(xs, ys) {
      plot.setData([xs, ys as number[]]);
    },
    destroy() {
      ro.disconnect();
      plot.destroy();
    },
  };
}
