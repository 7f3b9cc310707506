// Escaping text for the reports' HTML and JUnit XML: one function for both, since a numeric
// character reference for each of & < > " ' is valid in element text and in attribute values
// of either.

/** `s` with & < > " ' replaced by numeric character references. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
