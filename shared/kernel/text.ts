/**
 * What displays as other text where names, ids and reasons are read years later (the web app, CSV
 * exports, terminals, the audit log): C0 and C1 controls (escape sequences, line breaks), DEL, the
 * bidirectional overrides and isolates that show `INV-001` for other characters, and lone surrogates.
 * Left-to-right and right-to-left marks, which Hebrew and Arabic names use, are not in it.
 */
export const DECEPTIVE_CHARACTER = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;

/** The same for free text of several lines (a reason, a note): tab and line breaks allowed. */
export const DECEPTIVE_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|\p{Cs}/u;
