/**
 * What a proposed change of the retention policy does, in the reader's words: what it lowers (`lowers`, judged by the
 * archive against the strongest policy that has applied), each with the value in force now, and then everything else
 * it changes against the policy it was proposed on (`base`). An approval applies the proposed policy whole.
 * Broke: the retention screen listed only what a proposal lowered, in its new values: a proposal that shortened one
 * class a year also removed another class, changed the default class and the descriptions, and the second person saw
 * one line ("Class x then keeps documents only 9 years"), approved, and put all of it in force in their name.
 */
import type { Dictionary } from '../i18n/en';

interface RetentionClass { name: string; years: number; description?: string }
interface RetentionPolicy { classes: RetentionClass[]; defaultClass: string; requireDisposalApproval: boolean; fiscalYearEndMonth: number }
export interface RetentionProposalShown { policy: RetentionPolicy; base: RetentionPolicy; lowers: string[] }

export function retentionProposalChanges(p: RetentionProposalShown, t: Dictionary, monthName: (m: number) => string): string[] {
  const after = new Map(p.policy.classes.map((c) => [c.name, c]));
  const before = new Map(p.base.classes.map((c) => [c.name, c]));
  const also = t.retention.alsoChanges;
  const was = (value: string | number | undefined) => (value === undefined ? '' : also.was(String(value)));
  const shortened = new Set(p.lowers.filter((c) => c.startsWith('class-shortened:')).map((c) => c.slice('class-shortened:'.length)));
  const lowered = p.lowers.map((code) => {
    if (code === 'disposal-approval-off') return t.retention.lowers.approvalOff;
    if (code.startsWith('class-shortened:')) {
      const name = code.slice('class-shortened:'.length);
      return t.retention.lowers.classShortened(name, after.get(name)?.years ?? 0) + was(before.get(name)?.years);
    }
    if (code === 'default-class-shorter') return t.retention.lowers.defaultShorter(p.policy.defaultClass) + was(p.base.defaultClass);
    if (code.startsWith('fiscal-year-end-')) return t.retention.lowers.fiscalYearEnd(monthName(p.policy.fiscalYearEndMonth)) + was(monthName(p.base.fiscalYearEndMonth));
    return code;
  });
  const rest: string[] = [];
  for (const [name, c] of after) {
    const old = before.get(name);
    if (!old) {
      if (!shortened.has(name)) rest.push(also.classAdded(name, c.years));
    } else if (old.years !== c.years && !shortened.has(name)) rest.push(also.classYears(name, c.years) + was(old.years));
    // Broke (red team 26): a description removed, and below a fiscal year end moved back to the strongest policy's
    // month (not a lowering), were applied by the approval and shown nowhere.
    if ((old?.description ?? '') !== (c.description ?? '')) rest.push(c.description ? also.classDescription(name, c.description) : also.classDescriptionRemoved(name));
  }
  for (const [name, c] of before) if (!after.has(name)) rest.push(also.classRemoved(name, c.years));
  if (p.policy.defaultClass !== p.base.defaultClass && !p.lowers.includes('default-class-shorter')) rest.push(also.defaultClass(p.policy.defaultClass) + was(p.base.defaultClass));
  if (p.policy.fiscalYearEndMonth !== p.base.fiscalYearEndMonth && !p.lowers.some((c) => c.startsWith('fiscal-year-end-'))) rest.push(t.retention.lowers.fiscalYearEnd(monthName(p.policy.fiscalYearEndMonth)) + was(monthName(p.base.fiscalYearEndMonth)));
  if (!p.base.requireDisposalApproval && p.policy.requireDisposalApproval) rest.push(also.approvalOn);
  return [...lowered, ...rest];
}
