/**
 * A number as a person typed it into a form, as the API takes it: `1234.50` and `1234,50` alike (the Dutch decimal
 * comma). A value whose one separator is followed by exactly three digits after one to three others (`1,000`,
 * `1.000`, `12.345`) is a thousands separator to one reader and a decimal mark to another: an English "1,000" and a
 * Dutch "1.000" were both sent as 1, a thousand archived or searched as one. Such a value, and anything else that is
 * not a number, stays as typed, so the API refuses it beside its field and the form asks for it without a separator.
 */
export function typedNumber(typed: string): number | string {
  const s = typed.trim();
  if (!/^-?\d+([.,]\d+)?$/.test(s) || /^-?[1-9]\d{0,2}[.,]\d{3}$/.test(s)) return s;
  return Number(s.replace(',', '.'));
}
