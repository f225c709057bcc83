/** Text on the timeline's canvas: which colour reads on a bar, and names measured once and fitted to a width. */

export const LABEL_FONT = '12px system-ui, sans-serif';
/** Dark text, for bars on which white would not reach 4.5:1. */
export const DARK_TEXT = '#0f172a';
/** Bars narrower than this carry no name (the barcode of a 120-task lane): the gutter and tooltip say it. */
export const MIN_LABEL_W = 30;

/** WCAG relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = c.map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two #rrggbb colours. */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const textOn = new Map<string, string>();
/** The text colour for a bar's colour: white when it reaches 4.5:1 on it (dark blue, red), dark otherwise (amber, green, grey). */
export function textColor(bg: string): string {
  let c = textOn.get(bg);
  if (!c) textOn.set(bg, (c = contrast('#ffffff', bg) >= 4.5 ? '#ffffff' : DARK_TEXT));
  return c;
}

/**
 * Names measured once per font (a 30,000-row run repeats its 150 names on every lane), and fitted to a
 * width with an ellipsis. The context's font must be `font` when calling.
 */
export class TextFitter {
  private widths = new Map<string, number>();
  private font = '';
  private ell = 0;

  constructor(private readonly ctx: CanvasRenderingContext2D) {}

  width(text: string, font: string): number {
    if (font !== this.font) {
      this.font = font;
      this.widths.clear();
      this.ell = this.ctx.measureText('…').width;
    }
    let w = this.widths.get(text);
    if (w === undefined) this.widths.set(text, (w = this.ctx.measureText(text).width));
    return w;
  }

  /** The text as it fits in `max` pixels: whole, ellipsised, or '' when not even one character does. */
  fit(text: string, font: string, max: number): string {
    const w = this.width(text, font);
    if (w <= max) return text;
    if (max < this.ell + 4) return '';
    // A first guess by the mean character width, then shortened until it fits (measured, cached).
    let n = Math.max(1, Math.floor((text.length * (max - this.ell)) / w));
    while (n > 0 && this.width(text.slice(0, n), font) + this.ell > max) n--;
    return n > 0 ? text.slice(0, n) + '…' : '';
  }
}
