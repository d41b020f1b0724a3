"""Render the notebooks in nbs/ to a static HTML site in _docs/, offline (`nbdev-docs` needs Quarto).

    python tools/build_docs.py                        # nbs/ -> _docs/
    python tools/build_docs.py --out /tmp/site        # somewhere else
    python tools/build_docs.py --split-mixed-imports  # preview despite cells that mix imports with other code

1. Every notebook goes through nbdev's own docs processors (`FilterDefaults`, which is what
   `nbdev.serve.proc_nbs` and so `nbdev-docs` run), so each exported name gets its `show_doc`
   signature and docments, frontmatter is read from the title cell, and exported cells are removed.
2. The processed notebooks are cleaned of what nbconvert rejects (execnb's float
   `metadata.execution.total`, nbdev's `has_sd`, the cells nbdev emptied) and the Quarto cell
   options nbdev leaves for Quarto (`#| echo: false`, `#| output: asis`, ...) are applied.
3. nbconvert's `basic` HTML template renders each page, which is wrapped with the sidebar of
   `nbs/sidebar.yml`. Headings get the ids Quarto (pandoc) would give them, so nbdev's doc
   links (`core/broadcast.html#broadcastmanager.register`) resolve; links into the docs site
   are made relative, and `.ipynb` links point at their `.html` page, as Quarto does.
4. Every internal link of the site is checked; a broken one fails the build.

The build fails, naming the notebook and cell, where `nbdev-docs` would fail or lose content."""
import argparse, ast, copy, html, json, os, re, shutil, sys, tempfile, time, warnings
from contextlib import redirect_stdout
from html.parser import HTMLParser
from io import StringIO
from pathlib import Path
from urllib.parse import urldefrag, urlsplit, unquote

ROOT = Path(__file__).resolve().parent.parent
NBS, OUT = ROOT/'nbs', ROOT/'_docs'

class DocsError(Exception): "The docs can't be built as they are; the message says where and why."

# --- Which notebooks, in which order --------------------------------------------------------------
def notebooks(nbs=NBS):
    "Every notebook under `nbs` that nbdev renders (folders and files starting with `_` or `.` are skipped)."
    return sorted(p for p in Path(nbs).glob('**/*.ipynb')
                  if not any(part.startswith(('_', '.')) for part in p.relative_to(nbs).parts))

def sidebar_outline(nbs=NBS):
    "`nbs/sidebar.yml` in its order, as rows: `('section', title)` for a section heading, `('page', notebook)` for a page (relative to `nbs`)."
    import yaml
    doc = yaml.safe_load((Path(nbs)/'sidebar.yml').read_text(encoding='utf-8'))
    out = []
    def walk(items):
        for it in items or []:
            if isinstance(it, str): out.append(('page', it))
            elif isinstance(it, dict):
                if 'section' in it: out.append(('section', str(it['section'])))
                if 'href' in it: out.append(('page', it['href']))
                walk(it.get('contents'))
    walk(doc['website']['sidebar']['contents'])
    return out

def sidebar_pages(nbs=NBS):
    "The notebooks `nbs/sidebar.yml` lists, in its order, as paths relative to `nbs`."
    return [v for kind, v in sidebar_outline(nbs) if kind == 'page']

def page_path(nb_rel):
    "The HTML page a notebook renders to: `core/streaming.ipynb` -> `core/streaming.html`."
    return Path(nb_rel).with_suffix('.html').as_posix()

# --- Checks for what nbdev-docs would trip on -----------------------------------------------------
_directive = re.compile(r'^\s*#\s*\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')

def cell_directives(src):
    "The `#| name: value` lines at the top of a cell, and the source without them."
    lines, found = src.splitlines(), {}
    while lines and (m := _directive.match(lines[0])):
        found[m.group(1).replace('_', '-')] = m.group(2)
        lines.pop(0)
    return found, '\n'.join(lines)

_export_dirs = {'export', 'exports', 'exporti', 'exec-doc', 'exec_doc', 'default-exp', 'default_exp'}

def _top_level(src):
    "Top-level statements of code cell source `src`, or `None` when it is not plain Python."
    if re.search(r'^\s*[%!]', src, re.M): return None
    try: return ast.parse(src).body
    except SyntaxError: return None

def mixed_import_cells(nb):
    "Indexes of code cells that nbdev's docs processor runs because they import, but that also do other things."
    out = []
    for i, cell in enumerate(nb['cells']):
        if cell['cell_type'] != 'code': continue
        dirs, src = cell_directives(_text(cell['source']))
        if dirs.keys() & _export_dirs or dirs.get('eval', '').lower() == 'false': continue
        body = _top_level(src)
        if not body: continue
        imports = [t for t in body if isinstance(t, (ast.Import, ast.ImportFrom))]
        if imports and len(imports) < len(body): out.append(i)
    return out

def split_mixed_imports(nb):
    "Move the top-level imports of each mixed cell into a cell of their own just before it (what the fix in the notebook looks like)."
    cells = []
    mixed = set(mixed_import_cells(nb))
    for i, cell in enumerate(nb['cells']):
        if i in mixed:
            dirs, src = cell_directives(_text(cell['source']))
            lines = src.splitlines()
            body = _top_level(src)
            rows = {r for t in body if isinstance(t, (ast.Import, ast.ImportFrom)) for r in range(t.lineno - 1, t.end_lineno)}
            imp = copy.deepcopy(cell)
            imp['source'], imp['outputs'] = '\n'.join(lines[r] for r in sorted(rows)), []
            imp.get('metadata', {}).pop('id', None); imp.pop('id', None)
            cell = copy.deepcopy(cell)
            head = ''.join(f'#| {k}: {v}\n' if v else f'#| {k}\n' for k, v in dirs.items())
            cell['source'] = head + '\n'.join(l for r, l in enumerate(lines) if r not in rows).strip('\n')
            cells.append(imp)
        cells.append(cell)
    nb['cells'] = cells
    return nb

_fm_line = re.compile(r'^(#\s+\S.*|>\s*.*|-\s+[\w-]+\s*:.*|\s*)$')

def title_cell_problem(nb):
    "Why nbdev's frontmatter reader would drop prose from the notebook's title cell, or `None`."
    md = next((c for c in nb['cells'] if c['cell_type'] == 'markdown'), None)
    if md is None: return None
    lines = _text(md['source']).splitlines()
    if not lines or not lines[0].startswith('# '): return None
    extra = [l for l in lines if not _fm_line.match(l)]
    if extra: return (f"its title cell holds more than `# Title` and `> description` (e.g. {extra[0][:60]!r}); "
                      "nbdev turns that whole cell into page metadata, so the rest of it vanishes from the docs: "
                      "move everything after the `> description` line into a cell of its own")

def _text(v): return ''.join(v) if isinstance(v, list) else (v or '')

# --- nbdev's processors ---------------------------------------------------------------------------
def process(nb_path, split=False):
    "The notebook at `nb_path` after nbdev's docs processors, and the frontmatter they found."
    from fastcore.nbio import read_nb, dict2nb, nb2str
    from nbdev.processors import FilterDefaults
    nb = read_nb(nb_path)
    if split:
        nb = dict2nb(split_mixed_imports(json.loads(nb2str(nb))))
        nb.path_ = str(nb_path)
    old = os.environ.get('IN_TEST')
    os.environ['IN_TEST'] = '1'  # as nbdev.serve_drv does: notebooks skip their servers and slow parts
    try:
        with warnings.catch_warnings(), redirect_stdout(StringIO()):
            warnings.simplefilter('ignore')
            FilterDefaults()(nb)
    finally:
        if old is None: os.environ.pop('IN_TEST', None)
        else: os.environ['IN_TEST'] = old
    return json.loads(nb2str(nb)), dict(getattr(nb, 'frontmatter_', {}) or {})

# --- Clean-up for nbconvert -----------------------------------------------------------------------
_QUARTO_LINK = re.compile(r'\[([^\]]*)\]\(([^)\s]+)\)\{([^}]*)\}')

def _quarto_to_html(md):
    "`md` (a show_doc output) for nbconvert: Quarto's `[text](url){attrs}` as an HTML link, and no `__main__.` before a type."
    md = _QUARTO_LINK.sub(lambda m: f'<a href="{m[2]}" {m[3].strip()}>{m[1]}</a>', md)
    return re.sub(r'\b__main__\.', '', md)

def _drop_key(o, key):
    if isinstance(o, dict):
        o.pop(key, None)
        for v in o.values(): _drop_key(v, key)
    elif isinstance(o, list):
        for v in o: _drop_key(v, key)

def clean_for_nbconvert(nb):
    "A valid nbformat 4 notebook from nbdev's processed one, with the Quarto cell options applied."
    import nbformat
    cells = []
    for cell in nb['cells']:
        if cell.get('source') is None or cell['cell_type'] == 'raw': continue  # emptied by nbdev, or frontmatter
        cell = copy.deepcopy(cell)
        cell['source'] = _text(cell['source'])
        meta = cell.setdefault('metadata', {})
        meta.pop('execution', None)  # execnb writes a float `total` there, which the schema refuses
        tags = set(meta.get('tags', []))
        if cell['cell_type'] == 'code':
            dirs, src = cell_directives(cell['source'])
            cell['source'] = src.strip('\n')
            if dirs.get('include', '').lower() == 'false': continue
            if dirs.get('echo', '').lower() == 'false' or not cell['source'].strip(): tags.add('remove_input')
            if dirs.get('output', '').lower() == 'false': tags.add('remove_output')
            cell.setdefault('outputs', [])
            cell.setdefault('execution_count', None)
            if 'remove_input' in tags and not cell['outputs']: continue
            for o in cell['outputs']:
                if 'text' in o: o['text'] = _text(o['text'])
                if 'data' in o: o['data'] = {k: _text(v) if k.startswith('text/') or k in ('image/svg+xml', 'application/javascript') else v
                                             for k, v in o['data'].items()}
                if 'text/markdown' in o.get('data', {}): o['data']['text/markdown'] = _quarto_to_html(o['data']['text/markdown'])
                if o.get('output_type') in ('execute_result', 'display_data'): o.setdefault('metadata', {})
                if o.get('output_type') == 'execute_result': o.setdefault('execution_count', None)
        else:
            for k in ('outputs', 'execution_count'): cell.pop(k, None)
        if tags: meta['tags'] = sorted(tags)
        cells.append(cell)
    out = {'cells': cells, 'nbformat': 4, 'nbformat_minor': 5,
           'metadata': {'kernelspec': nb.get('metadata', {}).get('kernelspec', {'name': 'python3', 'display_name': 'python3', 'language': 'python'}),
                        'language_info': {'name': 'python'}}}
    _drop_key(out, 'has_sd')  # nbdev marks show_doc cells with it
    for i, c in enumerate(out['cells']): c['id'] = f'c{i}'  # ids of our own, unique and schema-valid
    out = nbformat.from_dict(out)
    nbformat.validate(out)
    return out

# --- HTML -----------------------------------------------------------------------------------------
def pandoc_id(text):
    "The id pandoc (and so Quarto) gives a heading with this text."
    s = re.sub(r'\s+', '-', text.strip().lower())
    s = re.sub(r'[^\w.\-]', '', s)
    s = re.sub(r'^[^a-z_]+', '', s) if re.search(r'[a-z]', s) else s
    return s or 'section'

_heading = re.compile(r'<h([1-6]) id="([^"]*)">(.*?)</h\1>', re.S)

def _retarget_headings(body):
    "Give every heading its pandoc id, made unique as pandoc does, and point its anchor link at it."
    seen = {}
    def fix(m):
        level, old, inner = m.groups()
        text = html.unescape(re.sub(r'<[^>]+>', '', inner.replace('¶', '')))
        new = base = pandoc_id(text)
        if base in seen:
            seen[base] += 1
            new = f'{base}-{seen[base]}'
        else: seen[base] = 0
        inner = inner.replace(f'href="#{old}"', f'href="#{new}"')
        return f'<h{level} id="{new}">{inner}</h{level}>'
    return _heading.sub(fix, body)

def _relative(target, page):
    "Path of site path `target` from the folder of site page `page`."
    return os.path.relpath(target, start=os.path.dirname(page) or '.').replace(os.sep, '/')

def _rewrite_links(body, page, site_url):
    "Links into the published site become relative; `.ipynb` links point at their page."
    def fix(m):
        attr, url = m.group(1), html.unescape(m.group(2))
        path, frag = urldefrag(url)
        if site_url and path.startswith(site_url + '/'):
            rest = path[len(site_url) + 1:].removesuffix('.md') or 'index.html'
            path = _relative(rest, page)
        if not urlsplit(path).scheme and path.endswith('.ipynb'): path = path[:-len('.ipynb')] + '.html'
        url = path + (f'#{frag}' if frag else '')
        return f'{attr}="{html.escape(url, quote=True)}"'
    return re.sub(r'\b(href|src)="([^"]*)"', fix, body)

_CSS = """:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg)}
a{color:var(--accent)}nav.sidebar{position:fixed;top:0;bottom:0;left:0;width:15rem;overflow:auto;padding:1.5rem 1rem;border-right:1px solid var(--line);background:var(--bg)}
nav.sidebar .site{font-weight:600;font-size:1.1rem;display:block;margin-bottom:1rem;color:var(--fg);text-decoration:none}
nav.sidebar ul{list-style:none;margin:0;padding:0}nav.sidebar li a{display:block;padding:.25rem .5rem;border-radius:6px;text-decoration:none;color:var(--fg)}
nav.sidebar li a[aria-current=page]{background:#ddf4ff;font-weight:600}nav.sidebar .section{margin:.75rem 0 .25rem .5rem;color:var(--muted);font-size:.85rem;text-transform:uppercase}
main{margin-left:15rem;max-width:58rem;padding:1.5rem 2.5rem 4rem}header.title p.description{color:var(--muted);font-size:1.1rem;margin-top:-.5rem}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem;overflow:auto;font-size:.875rem;line-height:1.45}
code{font-size:.9em}.anchor-link{margin-left:.35rem;text-decoration:none;opacity:0}h1:hover .anchor-link,h2:hover .anchor-link,h3:hover .anchor-link,h4:hover .anchor-link{opacity:.5}
.output_area pre{background:#fff}.jp-RenderedHTMLCommon table,table{border-collapse:collapse}td,th{border:1px solid var(--line);padding:.3rem .6rem}
@media (max-width:50rem){nav.sidebar{position:static;width:auto;border-right:0;border-bottom:1px solid var(--line)}main{margin-left:0;padding:1rem}}
"""

def _page(title, description, body, nav, site_title, page):
    desc = f'<p class="description">{html.escape(description)}</p>' if description else ''
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} – {html.escape(site_title)}</title>
<link rel="stylesheet" href="{_relative('site.css', page)}">
</head><body>
<nav class="sidebar" aria-label="Pages"><a class="site" href="{_relative('index.html', page)}">{html.escape(site_title)}</a>
{nav}</nav>
<main><header class="title"><h1 class="title">{html.escape(title)}</h1>{desc}</header>
{body}
</main></body></html>
"""

def _nav(entries, page):
    "Sidebar HTML for `entries` (title, page) with `page` marked current; an entry whose page is `None` is a section heading."
    items = ''.join(f'<li class="section">{html.escape(t)}</li>' if p is None else
                    f'<li><a href="{_relative(p, page)}"{" aria-current=page" if p == page else ""}>{html.escape(t)}</a></li>'
                    for t, p in entries)
    return f'<ul>{items}</ul>'

def _inline_md(text):
    "`text` of a frontmatter description: plain text without the markdown backticks."
    return re.sub(r'`([^`]*)`', r'\1', text or '')

# --- Link checking --------------------------------------------------------------------------------
class _Refs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links = set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ('id', 'name') if tag == 'a' else ('id',):
            if a.get(k): self.ids.add(a[k])
        for k in ('href', 'src'):
            if a.get(k) is not None and (tag, k) in {('a', 'href'), ('link', 'href'), ('img', 'src'), ('script', 'src'), ('iframe', 'src')}:
                self.links.append((tag, a[k], self.getpos()[0]))

def _parse(path):
    p = _Refs()
    p.feed(Path(path).read_text(encoding='utf-8'))
    return p

def broken_links(site):
    "Every internal link (relative path and/or anchor) in the HTML files under `site` that doesn't resolve, as messages."
    site = Path(site).resolve()
    pages = {p: _parse(p) for p in sorted(site.glob('**/*.html'))}
    problems = []
    for page, refs in pages.items():
        for tag, url, line in refs.links:
            parts = urlsplit(url)
            if parts.scheme or parts.netloc or url.startswith('//'): continue  # external
            path, frag = unquote(parts.path), unquote(parts.fragment)
            where = f"{page.relative_to(site)}:{line}: <{tag}> {url!r}"
            if path.startswith('/'): problems.append(f"{where}: a root-relative link breaks when the site is served under a base URL"); continue
            target = (page.parent/path).resolve() if path else page
            if target.is_dir(): target = target/'index.html'
            if site not in target.parents and target != site: problems.append(f"{where}: points outside the site"); continue
            if not target.exists(): problems.append(f"{where}: {target.relative_to(site)} does not exist"); continue
            if frag:
                if target.suffix != '.html': problems.append(f"{where}: anchor on a non-HTML file"); continue
                ids = (pages.get(target) or _parse(target)).ids
                if frag not in ids: problems.append(f"{where}: no id {frag!r} in {target.relative_to(site)}")
    return problems

# --- The build ------------------------------------------------------------------------------------
def _site_url():
    from nbdev.config import get_config
    cfg = get_config(ROOT)
    return (cfg.doc_host.rstrip('/') + (cfg.doc_baseurl.rstrip('/') if cfg.doc_baseurl != '/' else '')) if cfg.doc_host else ''

def _site_title():
    import tomllib
    return tomllib.loads((ROOT/'pyproject.toml').read_text())['project']['name']

def build(nbs=NBS, out=OUT, split=False, log=print):
    "Render every notebook under `nbs` into `out`; return a manifest of the pages. Raises `DocsError` listing every problem."
    from nbconvert import HTMLExporter
    nbs, out = Path(nbs).resolve(), Path(out).resolve()
    t0 = time.monotonic()
    found = [p.relative_to(nbs).as_posix() for p in notebooks(nbs)]
    order = sidebar_pages(nbs)
    problems = [f"nbs/{nb}: not listed in nbs/sidebar.yml" for nb in found if nb not in order]
    problems += [f"nbs/sidebar.yml lists {nb}, which does not exist" for nb in order if nb not in found]
    for rel in found:
        raw = json.loads((nbs/rel).read_text(encoding='utf-8'))
        if (why := title_cell_problem(raw)): problems.append(f"nbs/{rel}: {why}")
        if not split:
            for i in mixed_import_cells(raw):
                first = _text(raw['cells'][i]['source']).strip().splitlines()[0]
                problems.append(f"nbs/{rel}: cell {i} ({first[:50]!r}...) mixes imports with other code; nbdev-docs runs every cell that "
                                "imports (to get show_doc right), without the cells before it, so this one fails or misleads there: "
                                "put its imports in a cell of their own (or in the notebook's first import cell)")
    if problems: raise DocsError('\n'.join(problems))

    from traitlets.config import Config
    cfg = Config()
    cfg.TagRemovePreprocessor.enabled = True
    cfg.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    cfg.TagRemovePreprocessor.remove_all_outputs_tags = {'remove_output'}
    exporter = HTMLExporter(config=cfg, template_name='basic', exclude_input_prompt=True, exclude_output_prompt=True)

    rendered, manifest = {}, []
    cwd = os.getcwd()
    os.chdir(ROOT)  # nbdev reads its configuration from the working directory
    try:
        for rel in order:
            try: nb, fm = process(nbs/rel, split=split)
            except Exception as e: problems.append(f"nbs/{rel}: nbdev's docs processors failed: {e}"); continue
            try: clean = clean_for_nbconvert(nb)
            except Exception as e: problems.append(f"nbs/{rel}: the processed notebook is not valid for nbconvert: {e}"); continue
            body, _ = exporter.from_notebook_node(clean)
            title = fm.get('title') or Path(rel).stem
            rendered[rel] = (title, _inline_md(fm.get('description', '')), body)
    finally: os.chdir(cwd)
    if problems: raise DocsError('\n'.join(problems))

    from pygments.formatters import HtmlFormatter
    tmp = Path(tempfile.mkdtemp(prefix='docs-', dir=out.parent if out.parent.exists() else None))
    try:
        site_url, site_title = _site_url(), _site_title()
        entries = [(rendered[v][0], page_path(v)) if kind == 'page' else (v, None) for kind, v in sidebar_outline(nbs)]
        (tmp/'site.css').write_text(_CSS + HtmlFormatter(style='default').get_style_defs('.highlight') + '\n', encoding='utf-8')
        for rel in order:
            title, desc, body = rendered[rel]
            page = page_path(rel)
            body = _rewrite_links(_retarget_headings(body), page, site_url)
            dest = tmp/page
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(_page(title, desc, body, _nav(entries, page), site_title, page), encoding='utf-8')
            manifest.append({'notebook': f'nbs/{rel}', 'page': page, 'title': title})
        (tmp/'manifest.json').write_text(json.dumps(manifest, indent=1) + '\n', encoding='utf-8')
        if (bad := broken_links(tmp)): raise DocsError('broken internal links:\n' + '\n'.join(bad))
        if out.exists(): shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists(): shutil.rmtree(tmp)
    log(f"rendered {len(manifest)} pages into {out} in {time.monotonic() - t0:.1f} s")
    return manifest

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=str(OUT), help='folder to write the site to (replaced); default _docs/')
    p.add_argument('--split-mixed-imports', action='store_true',
                   help="render anyway when cells mix imports with other code, as if their imports had a cell of their own "
                        "(a preview: nbdev-docs would still fail on those notebooks)")
    args = p.parse_args(argv)
    try: build(out=args.out, split=args.split_mixed_imports)
    except DocsError as e:
        print(f"the docs can't be built:\n{e}", file=sys.stderr)
        return 1
    return 0

if __name__ == '__main__': sys.exit(main())
