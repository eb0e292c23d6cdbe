/**
 * The shading of a cohort grid's cells (an HTML table, so every number is written in its cell and read as text;
 * the shade only helps the eye): a share from 0 to 1 falls in one of six steps, `shade-0` (none) to `shade-5`
 * (all), each with a text colour of at least 4.5:1 against it (views/static/site.css, “Analytics pages”).
 * A missing share (nothing to compare with) is unshaded.
 */
export function shadeOf(share: number | null): string {
  if (share === null || !Number.isFinite(share) || share <= 0) return 'shade-0';
  return `shade-${Math.min(5, Math.max(1, Math.ceil(share * 5)))}`;
}
