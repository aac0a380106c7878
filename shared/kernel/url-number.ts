import { z } from 'zod';

/**
 * A decimal's whole part takes 16 digits: an amount may be as large as 2^53 − 1 (kernel/metadata.ts amountOf), 16 digits,
 * and with 15 a search bounded by a stored amount (`amountMin=9007199254740991`) was refused; the number's own bounds still
 * refuse what is larger.
 */
const DIGITS = { integer: /^-?[0-9]{1,15}$/, decimal: /^-?[0-9]{1,16}(\.[0-9]{1,20})?$/ } as const;

/**
 * A number as a URL carries it (a query parameter, a path segment): decimal digits, a sign, and for a
 * decimal a fraction, nothing else. `z.coerce.number()` reads what `Number()` reads: '' and ' ' as 0
 * (`?amountMin=` searched every amount from zero up), '0x7e8' as 2024, '1e3', 'Infinity'; a value
 * nobody wrote as that number would be searched, paged or downloaded by. Other text stays text, which
 * the number schema refuses ("must be a number in decimal digits"). `build` adds the bounds and the
 * default to the number schema, so the OpenAPI document still shows them.
 */
export function numberInUrl<T extends z.ZodType>(build: (n: z.ZodNumber) => T, digits: keyof typeof DIGITS = 'integer') {
  const number = z.number({ error: (issue) => (issue.code === 'invalid_type' ? 'must be a number in decimal digits' : undefined) });
  return z.preprocess((v) => (typeof v === 'string' && DIGITS[digits].test(v) ? Number(v) : v), build(number));
}
