import { badInput } from '../../shared/errors.ts';
import { REFERENCE_IMAGE } from './agent-image.ts';

/** One image tenants may run, with the commands they may choose for it (none listed: only the image's default). */
export interface AllowedImage {
  image: string;
  commands?: string[][];
}

/**
 * The operator's allow-list (`AGENT_IMAGES`): tenants choose an image and a command per agent
 * only from here. The reference image is always on it and resolves to the locally built,
 * content-hashed tag.
 */
export class ImageAllowList {
  readonly #entries = new Map<string, AllowedImage>();
  #referenceTag: string | undefined;

  constructor(entries: AllowedImage[] = []) {
    this.#entries.set(REFERENCE_IMAGE, { image: REFERENCE_IMAGE, commands: [['/bin/agent']] });
    for (const entry of entries) this.#entries.set(entry.image, entry);
  }

  /** Called once the reference image is built: agents naming REFERENCE_IMAGE run this tag. */
  setReferenceTag(tag: string): void {
    this.#referenceTag = tag;
  }

  /** Throws BAD_USER_INPUT unless the image, and the command if given, are allowed. */
  check(image: string, command: readonly string[] | null | undefined): void {
    const entry = this.#entries.get(image);
    if (!entry) throw badInput('image is not on the allow-list', 'image');
    if (command && !(entry.commands ?? []).some((allowed) => sameCommand(allowed, command))) {
      throw badInput('command is not allowed for this image', 'command');
    }
  }

  /** The engine's image reference for an allowed image. */
  resolve(image: string): string {
    if (image === REFERENCE_IMAGE) {
      if (!this.#referenceTag) throw new Error('the reference image has not been built');
      return this.#referenceTag;
    }
    return image;
  }

  images(): AllowedImage[] {
    return [...this.#entries.values()];
  }
}

function sameCommand(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((part, i) => part === b[i]);
}
