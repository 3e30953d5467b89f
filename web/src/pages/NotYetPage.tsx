/** Marks a capability that has not landed: says so, and shows nothing invented. */
export function NotYet({ children }: { children: string }) {
  return (
    <span className="muted" title="This capability has not landed yet">
      {children}
    </span>
  );
}
