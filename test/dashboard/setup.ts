// jsdom has no layout, so no ResizeObserver; Svelte's bind:clientHeight needs one to exist.
// Sizes stay 0 and the table falls back to its default viewport height.
if (typeof globalThis.ResizeObserver === 'undefined') {
  globalThis.ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
