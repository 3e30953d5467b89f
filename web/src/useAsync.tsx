import { type DependencyList, useCallback, useEffect, useState } from "react";
import { ApiError } from "./api.ts";

export interface AsyncState<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when deps change; the latest result wins. */
export function useAsync<T>(load: () => Promise<T>, deps: DependencyList): AsyncState<T> {
  const [state, setState] = useState<Omit<AsyncState<T>, "reload">>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  // biome-ignore lint/correctness/useExhaustiveDependencies: deps are the caller's
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, error: undefined, loading: false }),
      (error: unknown) =>
        current &&
        setState({
          data: undefined,
          error: error instanceof Error ? error : new Error(String(error)),
          loading: false,
        }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  return { ...state, reload };
}

export function ErrorNote({ error }: { error: Error | undefined }) {
  if (!error) return null;
  const hint = error instanceof ApiError && error.hint ? ` ${error.hint}` : "";
  return (
    <p className="error" role="alert">
      {error.message}
      {hint}
    </p>
  );
}
