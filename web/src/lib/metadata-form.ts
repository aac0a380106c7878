import { typedNumber } from './typed-number';

/**
 * One metadata field as typed into a form (trimmed, not empty), as the API takes it: the amount a number
 * (`12,50` too, see typedNumber), the tags a list, the currency in capitals. An amount that is not a number stays as
 * typed, so the metadata schema refuses it by name; as NaN it would be sent as null, which removes the amount.
 */
export function metadataValue(field: string, typed: string): unknown {
  if (field === 'amount') return typedNumber(typed);
  if (field === 'tags') return typed.split(',').map((s) => s.trim()).filter(Boolean);
  if (field === 'currency') return typed.toUpperCase();
  return typed;
}
