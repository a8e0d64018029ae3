/**
 * Node 20 builds its global `Headers` lazily, and the first `new Headers()` loads the whole
 * fetch implementation (~20 ms, a tenth of `pyro run`). Connect only needs the Headers
 * interface, so client commands get a standalone implementation of it instead. Nothing in
 * the client process uses fetch.
 */
import { Headers } from "headers-polyfill";

export function useLightHeaders(): void {
  const native = Object.getOwnPropertyDescriptor(globalThis, "Headers");
  // Only while the native one has not been built yet (it is still the lazy accessor).
  if (native && "get" in native && native.get) {
    Object.defineProperty(globalThis, "Headers", { value: Headers, writable: true, configurable: true, enumerable: false });
  }
}
