/** A page whose capability has not landed: says so, and shows nothing invented. */
export function NotYetPage({ title, what }: { title: string; what: string }) {
  return (
    <section>
      <h1>{title}</h1>
      <p className="notyet" data-testid="not-available">
        Not available yet. {what} will appear here once that part of Strata lands; the server does not offer
        it today.
      </p>
    </section>
  );
}

export function NotYet({ children }: { children: string }) {
  return (
    <span className="muted" title="This capability has not landed yet">
      {children}
    </span>
  );
}
