import { barChart, lineChart, linearScale, niceTicks, waterfallChart } from '../../../src/web/merchant/charts/charts';
import { shadeOf } from '../../../src/web/merchant/charts/cohort-grid';

const text = { id: 'c', title: 'A <chart>', desc: 'What it shows & why', format: (v: number) => `$${v}` };

/** The rectangles of a chart with their title (x, y, width, height as drawn). */
function rects(svg: string): Array<{ cls: string; y: number; height: number; title: string }> {
  return [...svg.matchAll(/<rect class="bar ([^"]+)" x="[^"]+" y="([^"]+)" width="[^"]+" height="([^"]+)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => ({
    cls: m[1]!,
    y: Number(m[2]),
    height: Number(m[3]),
    title: m[4]!,
  }));
}
const zeroLineY = (svg: string) => Number(/<line class="axis zero" x1="\d+" x2="\d+" y1="([^"]+)"/.exec(svg)![1]);

describe('charts: scales', () => {
  test('when ticks are asked for a range, then they are nice steps that cover it and include 0', () => {
    expect(niceTicks(0, 16943)).toEqual([0, 5000, 10000, 15000, 20000]);
    expect(niceTicks(-2600, 4000)).toEqual([-4000, -2000, 0, 2000, 4000]);
    expect(niceTicks(0.01, 0.0525)).toEqual([0, 0.02, 0.04, 0.06]);
    expect(niceTicks(0, 0)).toEqual([0, 1]);
    // Counts step by whole numbers, however few.
    expect(niceTicks(-1, 2, 5, true)).toEqual([-1, 0, 1, 2]);
    expect(niceTicks(0, 1, 5, false)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });

  test('when a value is scaled, then the domain maps linearly onto the range, inverted for SVG', () => {
    const y = linearScale([0, 100], [200, 0]);
    expect([y(0), y(50), y(100)]).toEqual([200, 100, 0]);
  });
});

describe('charts: the SVG', () => {
  test('when a chart is drawn, then it is an image named by its escaped title and description', () => {
    const svg = lineChart({ ...text, labels: ['Jan'], series: [{ name: 'MRR', values: [5] }] });
    expect(svg).toMatch(/^<svg [^>]*role="img" aria-labelledby="c-title c-desc"/);
    expect(svg).toContain('<title id="c-title">A &lt;chart&gt;</title><desc id="c-desc">What it shows &amp; why</desc>');
  });

  test('when bars gain and lose, then gains stand above the zero line and losses hang below it, stacked, in proportion', () => {
    const svg = barChart({
      ...text,
      labels: ['Jan', 'Feb'],
      series: [
        { name: 'New', direction: 'up', values: [3000, 1000] },
        { name: 'Expansion', direction: 'up', values: [1000, 0] },
        { name: 'Churn', direction: 'down', values: [0, 2000] },
      ],
    });
    const zero = zeroLineY(svg);
    const [jan, expansion, feb, churn] = rects(svg);
    expect(rects(svg)).toHaveLength(4); // a zero value draws nothing
    expect(jan!.y + jan!.height).toBeCloseTo(zero); // New stands on the axis…
    expect(expansion!.y + expansion!.height).toBeCloseTo(jan!.y); // …and Expansion on New
    expect(jan!.height).toBeCloseTo(3 * expansion!.height, 1);
    expect(feb!.y + feb!.height).toBeCloseTo(zero);
    expect(churn!.y).toBeCloseTo(zero); // Churn starts at the axis and goes down
    expect(churn!.height).toBeCloseTo(2 * feb!.height, 1);
    expect(churn!.cls).toBe('s2 down');
    expect(churn!.title).toBe('Feb — Churn: $-2000');
    for (const r of rects(svg)) expect(r.height).toBeGreaterThan(0);
  });

  test('when a line has a null, then it breaks there instead of drawing a zero', () => {
    const svg = lineChart({ ...text, labels: ['Jan', 'Feb', 'Mar'], series: [{ name: 'Rate', values: [0.1, null, 0.2] }] });
    const d = /<path class="line s0" d="([^"]+)"/.exec(svg)![1]!;
    expect(d.match(/M/g)).toHaveLength(2);
    expect(d).not.toContain('L');
    expect(svg.match(/<circle /g)).toHaveLength(2 + 1); // two points and the legend's marker
  });

  test('when a line goes below 0, then the axis extends below and the zero line sits between', () => {
    const svg = lineChart({ ...text, labels: ['Jan', 'Feb'], series: [{ name: 'Net churn', values: [-0.05, 0.1] }] });
    const points = [...svg.matchAll(/<circle class="marker s0" cx="[^"]+" cy="([^"]+)"/g)].map((m) => Number(m[1])).slice(1);
    const zero = zeroLineY(svg);
    expect(points[0]!).toBeGreaterThan(zero);
    expect(points[1]!).toBeLessThan(zero);
  });

  test('when there is one month, then its bar is drawn in the middle of the plot', () => {
    const svg = barChart({ ...text, labels: ['Mar'], series: [{ name: 'New', direction: 'up', values: [2600] }] });
    const x = Number(/<rect class="bar s0 up" x="([^"]+)" y="[^"]+" width="([^"]+)"/.exec(svg)![1]);
    const width = Number(/<rect class="bar s0 up" x="[^"]+" y="[^"]+" width="([^"]+)"/.exec(svg)![1]);
    expect(x + width / 2).toBeCloseTo(84 + (720 - 84 - 12) / 2);
    expect(svg).toContain('>Mar</text>');
  });

  test('when there is nothing to draw, then the chart says so and draws no bar, line or axis', () => {
    for (const svg of [
      barChart({ ...text, labels: [], series: [] }),
      lineChart({ ...text, labels: ['Jan'], series: [{ name: 'Rate', values: [null] }] }),
      waterfallChart({ ...text, steps: [] }),
    ]) {
      expect(svg).toContain('No figures to draw.');
      expect(svg).not.toMatch(/<rect|<path|<line/);
      expect(svg).toContain('role="img"');
    }
  });

  test('when a waterfall runs from a start to an end, then each change floats from the running total and a loss goes down', () => {
    const svg = waterfallChart({
      ...text,
      steps: [
        { label: 'Start', kind: 'total', value: 10000 },
        { label: 'New', kind: 'change', value: 2000 },
        { label: 'Churn', kind: 'change', value: -4000 },
        { label: 'End', kind: 'total', value: 8000 },
      ],
    });
    const [start, gain, loss, end] = rects(svg);
    expect(start!.cls).toBe('total');
    expect(gain!.y + gain!.height).toBeCloseTo(start!.y); // New starts where Start ends
    expect(loss!.cls).toBe('down');
    expect(loss!.y).toBeCloseTo(gain!.y); // Churn hangs from the top of New…
    expect(loss!.y + loss!.height).toBeCloseTo(end!.y); // …down to End
    expect(loss!.height).toBeCloseTo(2 * gain!.height, 1);
    expect(loss!.title).toBe('Churn: $-4000');
    expect(gain!.title).toBe('New: +$2000');
  });
});

describe('charts: bars that link', () => {
  test('when bars are given links, then each label’s stack is one named SVG link, a label without bars has none, and the chart is a named group with its axes hidden', () => {
    const svg = barChart({
      ...text,
      labels: ['Jan', 'Feb', 'Mar'],
      series: [
        { name: 'New', direction: 'up', values: [2600, 0, 1400] },
        { name: 'Churn', direction: 'down', values: [0, 0, 4000] },
      ],
      links: [
        { href: '/m/2026-01?a=1&b=2', name: 'January "2026"' },
        { href: '/m/2026-02', name: 'February' },
        { href: '/m/2026-03', name: 'March' },
      ],
    });
    const links = [...svg.matchAll(/<a class="bar-link" href="([^"]+)" aria-label="([^"]+)">((?:<rect [^>]*>.*?<\/rect>)+)<\/a>/g)].map((m) => [
      m[1],
      m[2],
      (m[3]!.match(/<rect /g) ?? []).length,
    ]);
    expect(links).toEqual([
      ['/m/2026-01?a=1&amp;b=2', 'January &quot;2026&quot;', 1],
      ['/m/2026-03', 'March', 2],
    ]);
    expect(svg).toMatch(/^<svg [^>]*role="group" aria-labelledby="c-title c-desc"/);
    expect(svg).toMatch(/<g aria-hidden="true"><line class="grid"[^]*<line class="axis zero"[^]*<\/g><a class="bar-link"/);
    // Without links, the chart stays an image.
    expect(barChart({ ...text, labels: ['Jan'], series: [{ name: 'New', direction: 'up', values: [1] }] })).toMatch(/^<svg [^>]*role="img"/);
  });
});

describe('cohort grid shades', () => {
  test('when a share is given, then it falls in one of five steps, and nothing or none is unshaded', () => {
    expect([null, 0, -1, Number.NaN, 0.01, 0.2, 0.21, 0.5, 0.8, 0.81, 1, 1.7].map(shadeOf)).toEqual([
      'shade-0',
      'shade-0',
      'shade-0',
      'shade-0',
      'shade-1',
      'shade-1',
      'shade-2',
      'shade-3',
      'shade-4',
      'shade-5',
      'shade-5',
      'shade-5',
    ]);
  });
});
