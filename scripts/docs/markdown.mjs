// Just enough Markdown for the docs check: fenced code blocks, links and GitHub heading anchors.
// Not a full CommonMark parser; it follows what GitHub renders for the constructs our pages use.

// Any indentation: a fence inside a list item is indented (GitHub renders it as code), and its code must be checked too.
const FENCE = /^(\s*)(`{3,}|~{3,})(.*)$/;

/**
 * The fenced code blocks of a Markdown text, as { info, line, code }: `info` is the trimmed info string,
 * `line` the 1-based line of the opening fence (the code starts on line + 1).
 */
export function codeBlocks(text) {
  const lines = text.split('\n');
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, info] = open;
    if (fence[0] === '`' && info.includes('`')) continue; // an inline code span, not a fence
    const body = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const close = /^\s*(`{3,}|~{3,})\s*$/.exec(lines[j]);
      if (close && close[1][0] === fence[0] && close[1].length >= fence.length) break;
      // The fence's indentation is not part of the code (CommonMark: removed from each line, as far as it goes).
      body.push(lines[j].startsWith(indent) ? lines[j].slice(indent.length) : lines[j].trimStart());
    }
    blocks.push({ info: info.trim(), line: i + 1, code: body.join('\n') + '\n' });
    i = j;
  }
  return blocks;
}

/** The text with every fenced block's lines blanked (line numbers kept) and inline code spans blanked. */
function prose(text) {
  const lines = text.split('\n');
  for (const b of codeBlocks(text)) {
    const end = b.line + b.code.split('\n').length - 1; // the closing fence's line, 1-based
    for (let k = b.line - 1; k < Math.min(end, lines.length); k++) lines[k] = '';
  }
  return lines.map((l) => l.replace(/(`+)(?:(?!\1).)+?\1/g, (m) => ' '.repeat(m.length)));
}

/**
 * The links of a Markdown text, as { target, line }: inline links and images `[t](target "title")`,
 * reference definitions `[t]: target`, autolinks `<https://…>` and HTML `href`/`src` attributes.
 * Links inside code blocks and code spans are not links.
 */
export function links(text) {
  const out = [];
  prose(text).forEach((l, index) => {
    const line = index + 1;
    // [text](target) or ![alt](target), target optionally in <>, optionally followed by a title
    for (const m of l.matchAll(/\]\(\s*(<[^>]*>|[^\s)]+(?:\([^\s)]*\)[^\s)]*)*)(?:\s+(?:"[^"]*"|'[^']*'|\([^)]*\)))?\s*\)/g)) {
      out.push({ target: m[1].replace(/^<|>$/g, ''), line });
    }
    const def = /^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)/.exec(l);
    if (def) out.push({ target: def[1].replace(/^<|>$/g, ''), line });
    for (const m of l.matchAll(/\b(?:href|src)\s*=\s*["']([^"']+)["']/gi)) out.push({ target: m[1], line });
  });
  return out;
}

/** GitHub's slug of a heading's rendered text (github-slugger): lower case, punctuation dropped, spaces to hyphens. */
export function slug(renderedText) {
  return renderedText
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** The text GitHub renders for a heading's Markdown source (close enough for slugs). */
function headingText(source) {
  // Code spans keep their text as is (`<realm>` included); outside them, HTML tags go and entities are decoded.
  return source
    .replace(/\s+#+\s*$/, '') // closing #s
    .split(/(`+[^`]*`+)/)
    .map((part, i) => (i % 2 === 1 ? part.replace(/^`+|`+$/g, '') : outsideCode(part)))
    .join('')
    .trim();
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** Heading text outside code spans, as GitHub renders it. */
function outsideCode(source) {
  return source
    .replace(/!\[([^\]]*)\]\([^)]*\)/g, '$1') // images -> alt
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // links -> text
    .replace(/\[([^\]]*)\]\[[^\]]*\]/g, '$1') // reference links -> text
    .replace(/<[^>]+>/g, '') // HTML tags
    .replace(/(\*\*|__|\*|(?<![\p{L}\p{N}])_|_(?![\p{L}\p{N}]))/gu, '') // emphasis markers, not intra-word underscores
    .replace(/\\([!-/:-@[-`{-~])/g, '$1') // backslash escapes
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e) =>
      e[0] === '#' ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : (ENTITIES[e.toLowerCase()] ?? m),
    );
}

/** Every anchor a Markdown text defines: heading slugs (with GitHub's -1, -2 … for repeats) and HTML id/name attributes. */
export function anchors(text) {
  const seen = new Map();
  const out = new Set();
  const add = (base) => {
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  };
  const lines = prose(text);
  const raw = text.split('\n');
  lines.forEach((l, i) => {
    const atx = /^ {0,3}#{1,6}(?:\s+(.*))?$/.exec(l);
    if (atx) add(slug(headingText(raw[i].replace(/^ {0,3}#{1,6}\s*/, ''))));
    else if (
      /^ {0,3}(=+|-+)\s*$/.test(l) &&
      i > 0 &&
      lines[i - 1].trim() &&
      !/^ {0,3}([-*_]\s*){3,}$/.test(lines[i - 1]) &&
      !/^\s*[-*+]\s/.test(lines[i - 1]) &&
      /^ {0,3}=+\s*$|^ {0,3}-+\s*$/.test(l) &&
      !/\|/.test(lines[i - 1])
    )
      add(slug(headingText(raw[i - 1].trim())));
    for (const m of l.matchAll(/<[a-z][^>]*\s(?:id|name)\s*=\s*["']([^"']+)["']/gi)) out.add(m[1]);
  });
  return out;
}
