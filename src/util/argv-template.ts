// `{name}` placeholders in a command's arguments, as Python's str.format writes them: `{{` and `}}` are literal
// braces. Values are substituted into each argument as they are; no shell ever reads the result.

export type TemplatePart = { text: string } | { name: string };

/** the parts of `template`; throws a one-line message for an unclosed `{` or a lone `}` */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      text += c;
      i++;
    } else if (c === '{') {
      const end = template.indexOf('}', i + 1);
      const name = end < 0 ? '' : template.slice(i + 1, end);
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`"${template}": "{" opens no {placeholder}; write {{ for a literal brace`);
      if (text) parts.push({ text });
      text = '';
      parts.push({ name });
      i = end;
    } else if (c === '}') throw new Error(`"${template}": a lone "}"; write }} for a literal brace`);
    else text += c;
  }
  if (text || parts.length === 0) parts.push({ text });
  return parts;
}

/** the placeholder names `template` uses */
export const templateNames = (template: string): string[] => parseTemplate(template).flatMap((p) => ('name' in p ? [p.name] : []));

/** `template` with each placeholder replaced by its value (every name must have one) */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  return parseTemplate(template)
    .map((p) => {
      if ('text' in p) return p.text;
      const v = values[p.name];
      if (v === undefined) throw new Error(`"${template}": no value for {${p.name}}`);
      return v;
    })
    .join('');
}
