/** The gateway's own connection: the administrative URL with the non-privileged `fleetgate_app` role. */
export function appUrlFor(adminUrl: string, password?: string): string {
  const url = new URL(adminUrl);
  url.username = 'fleetgate_app';
  url.password = password ? encodeURIComponent(password) : '';
  return url.toString();
}
