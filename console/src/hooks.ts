import { useEffect, useState } from 'preact/hooks';

/** One action at a time: `run(work)` marks it busy and keeps its error until the next success. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
    setBusy(true);
    try {
      const result = await work();
      setError(undefined);
      return result;
    } catch (caught) {
      setError(caught);
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

/**
 * The latest answer of a live source (`watch`, `watchAgents` in api.ts) and its latest error, the
 * error cleared by the next answer; the source stops when the component goes.
 */
export function useLive<T>(subscribe: (onData: (data: T) => void, onError: (error: unknown) => void) => () => void) {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(
    () =>
      subscribe((next) => {
        setData(next);
        setError(undefined);
      }, setError),
    [],
  );
  return { data, error };
}

/** One read: its answer, its error, and `reload()` after an action changed it. The previous answer stays while reloading, so nothing jumps. */
export function useQuery<R>(load: () => Promise<R>) {
  const [data, setData] = useState<R | undefined>();
  const [error, setError] = useState<unknown>();
  const reload = () =>
    load().then(
      (answer) => {
        setData(answer);
        setError(undefined);
      },
      (caught: unknown) => setError(caught),
    );
  useEffect(() => void reload(), []);
  return { data, error, reload };
}
