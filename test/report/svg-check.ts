/**
 * A tiny well-formedness check for the SVG the charts emit: balanced tags, quoted attributes, no
 * bare `&` or `<` in text. Enough to catch broken escaping or unclosed elements without a parser dep.
 */
export function checkWellFormedXml(xml: string): void {
  const stack: string[] = [];
  const re =
    /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|#39|#\d+);)/g;
  let m: RegExpExecArray | null;
  let roots = 0;
  while ((m = re.exec(xml)) !== null) {
    if (m[2] === undefined)
      throw new Error(`stray ${JSON.stringify(m[0])} at ${m.index}: ${xml.slice(m.index, m.index + 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) throw new Error(`</${name}> closes <${open}> at ${m.index}`);
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name);
    }
  }
  if (stack.length) throw new Error(`unclosed <${stack.join('> <')}>`);
  if (roots !== 1) throw new Error(`expected one root element, found ${roots}`);
}
