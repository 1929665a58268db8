// Small DOM helpers shared by the panels' webview scripts.

/** The element with this id; a missing one is a bug in the panel's document, so it throws naming the id. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the panel document has no #${id}`);
  return el as T;
}

/** The model path the host wrote into the document's `replens-model` meta tag. */
export function documentModelPath(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="replens-model"]')?.content ?? '';
}
