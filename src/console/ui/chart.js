import uPlot from 'uplot';
import { useEffect, useRef } from 'preact/hooks';
import { html } from './html.js';

/** A uPlot line chart of [[val_date seconds, value], ...]. */
export function Chart({ points, label }) {
  const el = useRef(null);
  useEffect(() => {
    if (!el.current) return undefined;
    const xs = points.map((p) => p[0]);
    const ys = points.map((p) => p[1]);
    const width = Math.max(320, Math.min(1100, el.current.clientWidth || 800));
    const plot = new uPlot(
      {
        width,
        height: 280,
        series: [{}, { label, stroke: '#2563eb', width: 2, points: { show: points.length < 200 } }],
        axes: [{}, {}],
      },
      [xs, ys],
      el.current,
    );
    return () => plot.destroy();
  }, [points, label]);
  return html`<div class="chart" ref=${el} data-points=${points.length}></div>`;
}
