import { useEffect, useState } from 'preact/hooks';

/** The console's routes, all under /console (the gateway answers index.html for each). */
export type Route =
  | { screen: 'isolation' }
  | { screen: 'agents' }
  | { screen: 'agent'; id: string }
  | { screen: 'audit' }
  | { screen: 'team' }
  | { screen: 'retention' }
  | { screen: 'operator' }
  | { screen: 'missing' };

export function routeOf(pathname: string): Route {
  const parts = pathname
    .replace(/^\/console\/?/, '')
    .split('/')
    .filter(Boolean)
    .map(decodeURIComponent);
  const [first, second] = parts;
  if (first === undefined) return { screen: 'isolation' };
  if (first === 'agents' && second !== undefined && parts.length === 2) return { screen: 'agent', id: second };
  if (first === 'agents' && parts.length === 1) return { screen: 'agents' };
  if (first === 'audit' && parts.length === 1) return { screen: 'audit' };
  if (first === 'team' && parts.length === 1) return { screen: 'team' };
  if (first === 'retention' && parts.length === 1) return { screen: 'retention' };
  if (first === 'operator' && parts.length === 1) return { screen: 'operator' };
  return { screen: 'missing' };
}

export function navigate(path: string) {
  history.pushState(null, '', path);
  dispatchEvent(new PopStateEvent('popstate'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => routeOf(location.pathname));
  useEffect(() => {
    const update = () => setRoute(routeOf(location.pathname));
    addEventListener('popstate', update);
    return () => removeEventListener('popstate', update);
  }, []);
  return route;
}

/** A link that moves within the console without a reload (and works as a plain link with a modifier key). */
export function follow(event: MouseEvent) {
  const anchor = event.currentTarget as HTMLAnchorElement;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(anchor.pathname);
}
