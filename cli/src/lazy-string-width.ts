/**
 * yargs measures text with string-width, whose module compiles Unicode property regexes
 * (RGI_Emoji among them) as it loads: ~16 ms of every `pyro` start, though only help text
 * and tables need it. The CLI bundle aliases "string-width" to this stand-in, which loads
 * the real one on first use (the bundle is CommonJS, so esbuild keeps the require lazy).
 */
type StringWidth = (text: string, options?: object) => number;

let real: StringWidth | undefined;

export default function stringWidth(text: string, options?: object): number {
  real ??= (require("../../node_modules/string-width/index.js") as { default: StringWidth }).default;
  return real(text, options);
}
