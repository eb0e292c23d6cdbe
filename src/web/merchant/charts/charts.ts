/**
 * Charts drawn on the server as SVG, for pages that work without JavaScript: a line chart, a stacked bar chart
 * whose "down" series hang below the axis (MRR lost, subscribers cancelled), and a waterfall (a month's MRR
 * from its start to its end). Plain arithmetic, no DOM. Each chart is an image with a name and a description
 * (`role="img"`, `<title>`, `<desc>`); every figure it draws is also in the table the page puts beside it, so
 * the chart is never the only way to read a number. Series are told apart by class (colours in site.css, with
 * system colours in forced-colours mode), and lines also by dash pattern and marker shape, not by colour alone.
 */

/** What every chart says about itself: `id` must be unique on the page (it names the title and description). */
export interface ChartText {
  id: string;
  title: string;
  desc: string;
  /** How a value is written on the axis and in tooltips ($1,200.00, 5%, 12). */
  format: (value: number) => string;
  /** Values are counts: the axis steps by whole numbers. */
  integers?: boolean;
}

export interface LineSeries {
  name: string;
  /** One per label; null leaves a gap (a rate with nothing to divide by). */
  values: Array<number | null>;
}

export interface BarSeries {
  name: string;
  /** One per label, 0 or more: `up` series stack above the axis, `down` series hang below it. */
  values: number[];
  direction: 'up' | 'down';
}

export interface WaterfallStep {
  label: string;
  /** A `total` bar stands on the axis; a `change` floats from the running total (negative: downwards). */
  kind: 'total' | 'change';
  value: number;
}

export const WIDTH = 720;
const HEIGHT = 280;
const LEFT = 84;
const RIGHT = 12;
const BOTTOM = 34;
const LINE_HEIGHT = 18;
/** Okabe–Ito (its yellow darkened, and a grey, for 3:1 against white): told apart by people with the common colour-vision deficiencies. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#444444', '#8C6D00', '#6B6B6B'];
const WATERFALL = { total: '#444444', up: '#009E73', down: '#D55E00' };
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

/** Text for SVG (and HTML): the five characters that matter, escaped. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** A number rounded for SVG coordinates (two decimals, no "-0"). */
function n(value: number): string {
  const rounded = Math.round(value * 100) / 100;
  return String(rounded === 0 ? 0 : rounded);
}

/**
 * "Nice" axis values covering [min, max] (steps of 1, 2 or 5 × 10^k), always including 0; [0, 1] when there is
 * nothing but zeros.
 */
export function niceTicks(min: number, max: number, count = 5, integers = false): number[] {
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  if (lo === hi) return [0, 1];
  const raw = integers ? Math.max(1, (hi - lo) / count) : (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const first = Math.floor(lo / step) * step;
  const last = Math.ceil(hi / step) * step;
  const ticks: number[] = [];
  for (let i = 0; first + i * step <= last + step / 1e6; i++) ticks.push(Number((Math.round((first + i * step) / step) * step).toPrecision(12)));
  return ticks;
}

/** A linear map from values to pixels. */
export function linearScale(domain: [number, number], range: [number, number]): (value: number) => number {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

/** The legend's rows: swatches and names laid left to right, wrapping at the chart's width. */
function legend(items: Array<{ name: string; swatch: (x: number, y: number) => string }>): { svg: string; height: number } {
  let x = LEFT;
  let y = 4;
  const parts: string[] = [];
  for (const item of items) {
    const width = 22 + item.name.length * 7 + 16;
    if (x + width > WIDTH - RIGHT && x > LEFT) {
      x = LEFT;
      y += LINE_HEIGHT;
    }
    parts.push(`<g class="legend-item">${item.swatch(x, y + 4)}<text x="${n(x + 22)}" y="${n(y + 13)}">${esc(item.name)}</text></g>`);
    x += width;
  }
  return { svg: `<g class="legend" aria-hidden="true">${parts.join('')}</g>`, height: y + LINE_HEIGHT + 8 };
}

/**
 * The chart's `<svg>`: an image named by its title and description, or — when it holds links, which an image's
 * children cannot be — a group so named, its axes hidden from assistive technology and its links named.
 */
function frame(text: ChartText, height: number, body: string, role: 'img' | 'group' = 'img'): string {
  const t = `${text.id}-title`;
  const d = `${text.id}-desc`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(text.id)}" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" ` +
    `role="${role}" aria-labelledby="${esc(t)} ${esc(d)}" preserveAspectRatio="xMinYMin meet">` +
    `<title id="${esc(t)}">${esc(text.title)}</title><desc id="${esc(d)}">${esc(text.desc)}</desc>${body}</svg>`
  );
}

/** The vertical axis: a gridline and a value per tick, the zero line drawn stronger. */
function yAxis(ticks: number[], y: (v: number) => number, format: (v: number) => string): string {
  return ticks
    .map((tick) => {
      const at = n(y(tick));
      return (
        `<line class="${tick === 0 ? 'axis zero' : 'grid'}" x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${at}" y2="${at}"/>` +
        `<text class="tick" x="${LEFT - 6}" y="${at}" dy="4" text-anchor="end">${esc(format(tick))}</text>`
      );
    })
    .join('');
}

/** Labels under the plot, thinned so that at most about 12 show. */
function xLabels(labels: string[], center: (i: number) => number, baseline: number): string {
  const every = Math.max(1, Math.ceil(labels.length / 12));
  return labels
    .map((label, i) => (i % every === 0 ? `<text class="tick" x="${n(center(i))}" y="${n(baseline)}" text-anchor="middle">${esc(label)}</text>` : ''))
    .join('');
}

function empty(text: ChartText): string {
  return frame(text, 60, `<text class="empty" x="${WIDTH / 2}" y="34" text-anchor="middle">No figures to draw.</text>`);
}

/** Lines over labels (months): one per series, with a marker at each value; gaps where a value is null. */
export function lineChart(options: ChartText & { labels: string[]; series: LineSeries[] }): string {
  const { labels, series, format } = options;
  const values = series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  if (labels.length === 0 || values.length === 0) return empty(options);
  const key = legend(series.map((s, i) => ({ name: s.name, swatch: (x, y) => lineSwatch(i, x, y) })));
  const top = key.height;
  const ticks = niceTicks(Math.min(...values), Math.max(...values), 5, options.integers);
  const y = linearScale([ticks[0]!, ticks.at(-1)!], [HEIGHT - BOTTOM, top + 8]);
  const band = (WIDTH - LEFT - RIGHT) / labels.length;
  const x = (i: number) => LEFT + band * (i + 0.5);
  const lines = series
    .map((s, i) => {
      const segments: string[] = [];
      let current: string[] = [];
      s.values.forEach((v, j) => {
        if (v === null) {
          if (current.length) segments.push(current.join(' '));
          current = [];
        } else current.push(`${current.length ? 'L' : 'M'}${n(x(j))},${n(y(v))}`);
      });
      if (current.length) segments.push(current.join(' '));
      const dash = DASHES[i % DASHES.length] ? ` stroke-dasharray="${DASHES[i % DASHES.length]}"` : '';
      const path = segments.length
        ? `<path class="line s${i}" d="${segments.join(' ')}" fill="none" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2.5"${dash}/>`
        : '';
      const markers = s.values
        .map((v, j) => (v === null ? '' : `<g class="point">${marker(i, x(j), y(v))}<title>${esc(`${labels[j]} — ${s.name}: ${format(v)}`)}</title></g>`))
        .join('');
      return `<g class="series s${i}">${path}${markers}</g>`;
    })
    .join('');
  return frame(options, HEIGHT, `${key.svg}${yAxis(ticks, y, format)}${lines}${xLabels(labels, x, HEIGHT - 12)}`);
}

function marker(i: number, cx: number, cy: number): string {
  const colour = PALETTE[i % PALETTE.length];
  switch (i % 3) {
    case 0:
      return `<circle class="marker s${i}" cx="${n(cx)}" cy="${n(cy)}" r="4" fill="${colour}"/>`;
    case 1:
      return `<rect class="marker s${i}" x="${n(cx - 4)}" y="${n(cy - 4)}" width="8" height="8" fill="${colour}"/>`;
    default:
      return `<path class="marker s${i}" d="M${n(cx)},${n(cy - 5)} L${n(cx + 5)},${n(cy + 4)} L${n(cx - 5)},${n(cy + 4)} Z" fill="${colour}"/>`;
  }
}

function lineSwatch(i: number, x: number, y: number): string {
  const dash = DASHES[i % DASHES.length] ? ` stroke-dasharray="${DASHES[i % DASHES.length]}"` : '';
  return `<line class="line s${i}" x1="${n(x)}" x2="${n(x + 18)}" y1="${n(y + 5)}" y2="${n(y + 5)}" stroke="${PALETTE[i % PALETTE.length]}" stroke-width="2.5"${dash}/>${marker(i, x + 9, y + 5)}`;
}

function barSwatch(i: number, x: number, y: number): string {
  return `<rect class="bar s${i}" x="${n(x)}" y="${n(y)}" width="16" height="10" fill="${PALETTE[i % PALETTE.length]}"/>`;
}

/** Where a label's bars lead (a month's drill-down), and the link's accessible name. */
export interface BarLink {
  href: string;
  name: string;
}

/**
 * Stacked bars over labels (months): `up` series stack above the zero line, `down` series (amounts lost, given
 * as positive numbers) stack below it, so gains and losses read apart even without colour. With `links`, each
 * label's stack is an SVG `<a>` with an accessible name (a label without bars has no link: nothing to click).
 */
export function barChart(options: ChartText & { labels: string[]; series: BarSeries[]; links?: Array<BarLink | null> }): string {
  const { labels, series, format } = options;
  if (labels.length === 0 || series.length === 0) return empty(options);
  const ups = labels.map((_, j) => series.filter((s) => s.direction === 'up').reduce((sum, s) => sum + Math.max(0, s.values[j] ?? 0), 0));
  const downs = labels.map((_, j) => series.filter((s) => s.direction === 'down').reduce((sum, s) => sum + Math.max(0, s.values[j] ?? 0), 0));
  const key = legend(series.map((s, i) => ({ name: s.name, swatch: (x, y) => barSwatch(i, x, y) })));
  const top = key.height;
  const ticks = niceTicks(-Math.max(...downs), Math.max(...ups), 5, options.integers);
  const y = linearScale([ticks[0]!, ticks.at(-1)!], [HEIGHT - BOTTOM, top + 8]);
  const band = (WIDTH - LEFT - RIGHT) / labels.length;
  const barWidth = Math.min(48, band * 0.7);
  const center = (j: number) => LEFT + band * (j + 0.5);
  const bars: string[] = [];
  labels.forEach((label, j) => {
    const start = bars.length;
    let above = 0;
    let below = 0;
    series.forEach((s, i) => {
      const value = Math.max(0, s.values[j] ?? 0);
      if (value === 0) return;
      const [from, to] = s.direction === 'up' ? [above, above + value] : [-below, -below - value];
      if (s.direction === 'up') above += value;
      else below += value;
      const yTop = y(Math.max(from, to));
      const height = y(Math.min(from, to)) - yTop;
      const shown = s.direction === 'up' ? format(value) : format(-value);
      bars.push(
        `<rect class="bar s${i} ${s.direction}" x="${n(center(j) - barWidth / 2)}" y="${n(yTop)}" width="${n(barWidth)}" height="${n(height)}" fill="${PALETTE[i % PALETTE.length]}">` +
          `<title>${esc(`${label} — ${s.name}: ${shown}`)}</title></rect>`,
      );
    });
    const link = options.links?.[j];
    if (link && bars.length > start) {
      const stack = bars.splice(start).join('');
      bars.push(`<a class="bar-link" href="${esc(link.href)}" aria-label="${esc(link.name)}">${stack}</a>`);
    }
  });
  if (options.links) {
    const hidden = (svg: string) => `<g aria-hidden="true">${svg}</g>`;
    return frame(options, HEIGHT, `${key.svg}${hidden(yAxis(ticks, y, format))}${bars.join('')}${hidden(xLabels(labels, center, HEIGHT - 12))}`, 'group');
  }
  return frame(options, HEIGHT, `${key.svg}${yAxis(ticks, y, format)}${bars.join('')}${xLabels(labels, center, HEIGHT - 12)}`);
}

/**
 * A waterfall: totals stand on the axis, each change floats from the running total — up for a gain, down for
 * a loss — so the bars read from the start to the end.
 */
export function waterfallChart(options: ChartText & { steps: WaterfallStep[] }): string {
  const { steps, format } = options;
  if (steps.length === 0) return empty(options);
  const spans: Array<{ from: number; to: number; step: WaterfallStep }> = [];
  let running = 0;
  for (const step of steps) {
    if (step.kind === 'total') {
      running = step.value;
      spans.push({ from: 0, to: step.value, step });
    } else {
      spans.push({ from: running, to: running + step.value, step });
      running += step.value;
    }
  }
  const all = spans.flatMap((s) => [s.from, s.to]);
  const ticks = niceTicks(Math.min(...all), Math.max(...all));
  const top = 12;
  const y = linearScale([ticks[0]!, ticks.at(-1)!], [HEIGHT - BOTTOM, top]);
  const band = (WIDTH - LEFT - RIGHT) / steps.length;
  const barWidth = Math.min(56, band * 0.7);
  const center = (j: number) => LEFT + band * (j + 0.5);
  const bars = spans
    .map(({ from, to, step }, j) => {
      const kind = step.kind === 'total' ? 'total' : step.value < 0 ? 'down' : 'up';
      const yTop = y(Math.max(from, to));
      const height = Math.max(step.value === 0 ? 0 : 1, y(Math.min(from, to)) - yTop);
      const shown = step.kind === 'change' && step.value > 0 ? `+${format(step.value)}` : format(step.value);
      return (
        `<rect class="bar ${kind}" x="${n(center(j) - barWidth / 2)}" y="${n(yTop)}" width="${n(barWidth)}" height="${n(height)}" fill="${WATERFALL[kind]}">` +
        `<title>${esc(`${step.label}: ${shown}`)}</title></rect>` +
        `<text class="value" x="${n(center(j))}" y="${n(kind === 'down' ? y(Math.min(from, to)) + 14 : yTop - 4)}" text-anchor="middle">${esc(shown)}</text>`
      );
    })
    .join('');
  return frame(
    options,
    HEIGHT,
    `${yAxis(ticks, y, format)}${bars}${xLabels(
      steps.map((s) => s.label),
      center,
      HEIGHT - 12,
    )}`,
  );
}
