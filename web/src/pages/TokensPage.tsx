/** API tokens (admins): create (the secret is shown once), list, revoke. */
import { type FormEvent, useState } from "react";
import { ApiError, api, type Role } from "../api.ts";
import { nsToDate } from "../format.ts";
import { ErrorNote, useAsync } from "../useAsync.tsx";

export function TokensPage() {
  const tokens = useAsync(() => api.listTokens(), []);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role>("viewer");
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<Error | undefined>();

  const create = async (event: FormEvent) => {
    event.preventDefault();
    setError(undefined);
    try {
      const result = await api.createToken({ name: name.trim(), role });
      setCreated(result.token);
      setName("");
      tokens.reload();
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)));
    }
  };
  const revoke = async (tokenId: string) => {
    try {
      await api.revokeToken(tokenId);
      tokens.reload();
    } catch (e) {
      setError(e instanceof ApiError ? e : new Error(String(e)));
    }
  };

  return (
    <section>
      <h1>API tokens</h1>
      <form className="card upload" onSubmit={create}>
        <input
          placeholder="name (who uses it)"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
        />
        <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
          <option value="viewer">viewer</option>
          <option value="engineer">engineer</option>
          <option value="steward">steward</option>
          <option value="admin">admin</option>
        </select>
        <button type="submit">Create token</button>
        {created && (
          <span className="ok">
            New token (shown once): <code data-testid="new-token">{created}</code>
          </span>
        )}
      </form>
      <ErrorNote error={error ?? tokens.error} />
      {tokens.data && (
        <table>
          <thead>
            <tr>
              <th>token</th>
              <th>name</th>
              <th>role</th>
              <th>created</th>
              <th>revoked</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {tokens.data.tokens.map((t) => (
              <tr key={t.tokenId}>
                <td className="mono">{t.tokenId}</td>
                <td>{t.name}</td>
                <td>{t.role}</td>
                <td>{nsToDate(t.createdAtNs)}</td>
                <td>{t.revokedAtNs ? nsToDate(t.revokedAtNs) : "—"}</td>
                <td>
                  {!t.revokedAtNs && (
                    <button type="button" className="link" onClick={() => revoke(t.tokenId)}>
                      revoke
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
