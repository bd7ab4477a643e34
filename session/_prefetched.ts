/**
 * Private to `connect.ts`: hand a stream whose `<stream:features/>` were
 * already read (by the race, to prove the stream secure) to
 * `negotiateClient()`, which starts by reading features.
 *
 * The view forwards everything to the stream, except that its first
 * `readFeatures()` returns the features given here. Features that restart
 * the stream (SASL) return the real new stream, so the view is only used
 * up to the first restart. (A `features` option on `negotiateClient()`
 * would make this unnecessary.)
 *
 * @module
 */

import type { Element } from "../stream/element.ts";
import type { XmlStream } from "../stream/xml_stream.ts";

/**
 * A view of `stream` whose first `readFeatures()` resolves to `features`.
 *
 * @param stream The stream, its features already read.
 * @param features Those features.
 * @returns The view.
 */
export function _withFeatures(stream: XmlStream, features: Element): XmlStream {
  let pending: Element | undefined = features;
  const readFeatures = (options?: { signal?: AbortSignal }) => {
    if (pending === undefined) return stream.readFeatures(options);
    const f = pending;
    pending = undefined;
    return Promise.resolve(f);
  };
  return new Proxy(stream, {
    get(target, key) {
      if (key === "readFeatures") return readFeatures;
      // The receiver is the stream itself: its accessors use private fields.
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
