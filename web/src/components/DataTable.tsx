/**
 * The app's data table: scrollable wrapper, a caption for screen readers, one header row of column
 * headers (scope="col"; numbers right-aligned; a header only screen readers need, e.g. "Actions",
 * visually hidden), and the rows the screen renders.
 */
import type { ReactNode } from 'react';

export type Column = ReactNode | { label: ReactNode; numeric?: boolean; visuallyHidden?: boolean };

const isOptions = (c: Column): c is { label: ReactNode; numeric?: boolean; visuallyHidden?: boolean } => typeof c === 'object' && c !== null && 'label' in c;

/** Named by `caption` (for screen readers only), or by the visible heading whose id is `labelledBy`. */
export function DataTable({ caption, labelledBy, columns, children }: { caption?: string; labelledBy?: string; columns: Column[]; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table className="data" aria-labelledby={labelledBy}>
        {caption !== undefined && <caption className="visually-hidden">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c, i) => {
              const { label, numeric, visuallyHidden } = isOptions(c) ? c : { label: c };
              return (
                <th key={i} scope="col" className={numeric ? 'num' : undefined}>
                  {visuallyHidden ? <span className="visually-hidden">{label}</span> : label}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
