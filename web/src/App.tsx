import { type FormEvent, lazy, Suspense, useEffect, useState } from "react";
import { ApiError, api, atLeast, type Principal, tokenStore } from "./api.ts";
import { AuditPage } from "./pages/AuditPage.tsx";
import { CapturePage } from "./pages/CapturePage.tsx";
import { CapturesPage } from "./pages/CapturesPage.tsx";
import { DatasetsPage } from "./pages/DatasetsPage.tsx";
import { LineagePage } from "./pages/LineagePage.tsx";
import { MetricsPage } from "./pages/MetricsPage.tsx";
import { SearchPage } from "./pages/SearchPage.tsx";
import { TokensPage } from "./pages/TokensPage.tsx";
import { href, type Route, useRoute } from "./router.ts";

// three.js is only loaded when a 3D view is opened.
const CaptureViewPage = lazy(() =>
  import("./pages/CaptureViewPage.tsx").then((m) => ({ default: m.CaptureViewPage })),
);

export function App() {
  const [principal, setPrincipal] = useState<Principal | null>(null);
  const [checking, setChecking] = useState(() => tokenStore.get() !== null);

  useEffect(() => {
    if (!tokenStore.get()) return;
    api
      .me()
      .then(setPrincipal)
      .catch(() => tokenStore.clear())
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p className="muted pad">Checking your token…</p>;
  if (!principal) return <SignIn onSignedIn={setPrincipal} />;
  const signOut = () => {
    tokenStore.clear();
    setPrincipal(null);
  };
  return <Shell principal={principal} onSignOut={signOut} />;
}

function SignIn({ onSignedIn }: { onSignedIn: (p: Principal) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const principal = await api.signIn(token.trim());
      tokenStore.set(token.trim());
      onSignedIn(principal);
    } catch (e) {
      setError(e instanceof ApiError ? `${e.message} — ${e.hint}` : String(e));
    }
  };
  return (
    <main className="signin">
      <h1>Strata</h1>
      <p className="muted">
        Sign in with an API token (`strata token create --role viewer`, or the admin token `strata serve`
        printed).
      </p>
      <form onSubmit={submit}>
        <label>
          API token
          <input
            name="token"
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            placeholder="strata_…"
          />
        </label>
        <button type="submit" disabled={!token.trim()}>
          Sign in
        </button>
      </form>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </main>
  );
}

const NAV: { page: Route["page"]; label: string; href: string; minRole?: Principal["role"] }[] = [
  { page: "captures", label: "Captures", href: href.captures },
  { page: "search", label: "Search", href: "#/search" },
  { page: "datasets", label: "Datasets", href: "#/datasets" },
  { page: "lineage", label: "Lineage", href: "#/lineage" },
  { page: "audit", label: "Audit", href: "#/audit", minRole: "steward" },
  { page: "metrics", label: "Metrics", href: "#/metrics" },
  { page: "tokens", label: "Tokens", href: "#/tokens", minRole: "admin" },
];

function Shell({ principal, onSignOut }: { principal: Principal; onSignOut: () => void }) {
  const route = useRoute();
  const active = route.page === "capture" || route.page === "view" ? "captures" : route.page;
  return (
    <div className="shell">
      <header>
        <a className="brand" href={href.captures}>
          Strata
        </a>
        <nav>
          {NAV.filter((n) => !n.minRole || atLeast(principal.role, n.minRole)).map((n) => (
            <a key={n.page} href={n.href} className={n.page === active ? "active" : undefined}>
              {n.label}
            </a>
          ))}
          <a href="/docs" target="_blank" rel="noreferrer">
            API docs
          </a>
        </nav>
        <span className="who" data-testid="who">
          {principal.name} · {principal.role}
          <button type="button" className="link" onClick={onSignOut}>
            Sign out
          </button>
        </span>
      </header>
      <main>
        <Page route={route} principal={principal} />
      </main>
    </div>
  );
}

function Page({ route, principal }: { route: Route; principal: Principal }) {
  switch (route.page) {
    case "captures":
      return <CapturesPage principal={principal} />;
    case "capture":
      return <CapturePage captureId={route.captureId} />;
    case "view":
      return (
        <Suspense fallback={<p className="muted">Loading the 3D view…</p>}>
          <CaptureViewPage captureId={route.captureId} />
        </Suspense>
      );
    case "lineage":
      return <LineagePage of={route.of} />;
    case "audit":
      return <AuditPage />;
    case "metrics":
      return <MetricsPage />;
    case "tokens":
      return <TokensPage />;
    case "search":
      return <SearchPage />;
    case "datasets":
      return <DatasetsPage />;
  }
}
