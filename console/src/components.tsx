import type { ComponentChildren } from 'preact';
import { type Words, wordsFor } from './errors.ts';
import { follow } from './router.ts';

export function Link({ href, children, current }: { href: string; children: ComponentChildren; current?: boolean }) {
  return (
    <a href={href} onClick={follow} aria-current={current ? 'page' : undefined}>
      {children}
    </a>
  );
}

/** An error in words, announced to screen readers; `words` are the screen's own for some codes (`CODE` or `CODE:field`). */
export function ErrorNote({ error, words }: { error: unknown; words?: Words }) {
  return (
    <p class="error" role="alert">
      {wordsFor(error, words)}
    </p>
  );
}

/**
 * A destructive action's confirmation: the person types a name (the tenant's) and the caller enables
 * its button only when `typed` matches it. `prompt` says what to type and why.
 */
export function TypedConfirmation({
  prompt,
  typed,
  onTyped,
  class: className,
}: {
  prompt: ComponentChildren;
  typed: string;
  onTyped: (value: string) => void;
  class?: string;
}) {
  return (
    <label class={className}>
      {prompt}{' '}
      <input
        name="confirm"
        autoComplete="off"
        value={typed}
        onInput={(event) => onTyped((event.currentTarget as HTMLInputElement).value)}
      />
    </label>
  );
}

/** Placeholder rows of the final rows' height, so nothing moves when the data arrives. */
export function SkeletonRows({ rows, columns }: { rows: number; columns: number }) {
  return (
    <>
      {Array.from({ length: rows }, (_, row) => (
        <tr key={row} class="skeleton">
          {Array.from({ length: columns }, (_, column) => (
            <td key={column}>
              <span />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

export function Status({ value }: { value: string }) {
  return <span class={`status status-${value.toLowerCase()}`}>{value}</span>;
}

export function when(iso: string | null | undefined): string {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—';
}
