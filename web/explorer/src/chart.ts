// Line charts on canvas (uPlot): thousands of points draw without stutter.
// Colours come from the page's CSS variables, so a chart follows the light
// or dark scheme (it is drawn again when the scheme changes).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || fallback;
}

export interface Chart {
  set(xs: number[], ys: (number | null)[]): void;
  destroy(): void;
}

const dark = window.matchMedia('(prefers-color-scheme: dark)');

// lineChart draws ys over xs (unix seconds) in el, as wide as el.
export function lineChart(el: HTMLElement, label: string, opts: { bars?: boolean; height?: number } = {}): Chart {
  const height = opts.height ?? 220;
  const width = () => Math.max(240, el.clientWidth || 600);
  let data: uPlot.AlignedData = [[], []];
  const make = () => {
    const fg = cssVar('--fg', '#222');
    const grid = cssVar('--grid', 'rgba(128,128,128,0.2)');
    const accent = cssVar('--accent', '#1f6feb');
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    return new uPlot({
      width: width(),
      height,
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
    }, data, el);
  };
  let plot = make();
  const ro = new ResizeObserver(() => plot.setSize({ width: width(), height }));
  ro.observe(el);
  const rescheme = () => {
    plot.destroy();
    plot = make();
  };
  dark.addEventListener('change', rescheme);
  return {
    set(xs, ys) {
      data = [xs, ys as number[]];
      plot.setData(data);
    },
    destroy() {
      dark.removeEventListener('change', rescheme);
      ro.disconnect();
      plot.destroy();
    },
  };
}
