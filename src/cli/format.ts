/** Plain-text output: aligned tables whose cells cannot break the layout. */
import stringWidth from 'string-width';

/** A cell shows control characters escaped (JSON style), so a newline in a value cannot add a row. */
export function printable(text: string): string {
  return /[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * Columns padded to their widest cell, measured in terminal columns (a CJK character or an
 * emoji takes two); the last column is not padded (no trailing spaces).
 */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cells = [headers, ...rows].map((row) => row.map(printable));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => stringWidth(row[column] ?? ''))));
  return cells
    .map((row) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell + ' '.repeat(widths[column]! - stringWidth(cell))))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
