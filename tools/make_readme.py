"""Write README.md from nbs/index.ipynb, offline (nbdev-readme needs Quarto).

    python tools/make_readme.py          # write README.md
    python tools/make_readme.py --check  # exit 1 if README.md is out of date

Cells marked `#| hide` are dropped, other nbdev directive lines (`#| eval: false`, ...) are
stripped from code, and relative links to the docs pages (`core/streaming.html`) point at the
documentation site so they work on GitHub and PyPI too.
Uses nbconvert's MarkdownExporter when it is importable, else a small built-in writer."""
import argparse, copy, json, re, sys, tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from build_docs import cell_directives
INDEX, README = ROOT/'nbs'/'index.ipynb', ROOT/'README.md'
_rel_link = re.compile(r'\]\((?!https?:|mailto:|#|/)([^)\s]+\.html(?:#[^)\s]*)?)\)')

def _text(v): return ''.join(v) if isinstance(v, list) else v
def _src(cell): return _text(cell['source'])

def _joined(output):
    "`output` with the multi-line strings of the stored JSON joined, as nbformat's reader does."
    if 'text' in output: output['text'] = _text(output['text'])
    if 'data' in output: output['data'] = {k: _text(v) for k, v in output['data'].items()}
    return output


def _docs_url():
    urls = tomllib.loads((ROOT/'pyproject.toml').read_text())['project'].get('urls', {})
    return urls.get('Documentation', '').rstrip('/')

def readme_cells(nb):
    "The cells of `nb` as they should appear in the README."
    out = []
    for cell in nb['cells']:
        cell = copy.deepcopy(cell)
        found, src = cell_directives(_src(cell))
        src = src.strip('\n')
        if 'hide' in found: continue
        cell['metadata'] = {}
        if cell['cell_type'] == 'code':
            if not src.strip(): continue
            if found.get('hide-input') is not None or found.get('echo') == 'false': src = ''
            if found.get('hide-output') is not None or found.get('output') == 'false': cell['outputs'] = []
            cell['source'], cell['execution_count'] = src, None
            cell['outputs'] = [_joined(o) for o in cell.get('outputs', [])]
        else: cell['source'] = _src(cell)
        out.append(cell)
    return out

def _plain_markdown(nb):
    "Markdown for `nb` without nbconvert: markdown as is, code fenced, text outputs indented."
    parts = []
    for c in nb['cells']:
        if c['cell_type'] == 'markdown': parts.append(c['source'])
        elif c['cell_type'] == 'code':
            if c['source']: parts.append(f"```python\n{c['source']}\n```")
            for o in c.get('outputs', []):
                text = o.get('text') if o['output_type'] == 'stream' else o.get('data', {}).get('text/plain')
                if text is None: continue
                parts.append('\n'.join('    ' + l if l else '' for l in text.rstrip('\n').split('\n')))
    return '\n\n'.join(parts)

def render(index=INDEX):
    "The README text for `index`."
    nb = json.loads(Path(index).read_text(encoding='utf-8'))
    nb['cells'] = readme_cells(nb)
    nb['metadata'] = {'kernelspec': nb.get('metadata', {}).get('kernelspec', {}), 'language_info': {'name': 'python'}}
    try: from nbconvert import MarkdownExporter
    except ImportError: md = _plain_markdown(nb)
    else:
        import nbformat
        md, _ = MarkdownExporter().from_notebook_node(nbformat.from_dict(nb))
    if (url := _docs_url()): md = _rel_link.sub(lambda m: f']({url}/{m.group(1)})', md)
    md = '\n'.join(l.rstrip() for l in md.splitlines())
    return re.sub(r'\n{3,}', '\n\n', md).strip('\n') + '\n'

def check(index=INDEX, readme=README):
    "None when `readme` matches `index`, else a message saying what to run."
    want = render(index)
    have = Path(readme).read_text(encoding='utf-8') if Path(readme).exists() else None
    if have == want: return None
    if have is None: return f"{readme} is missing; run: python tools/make_readme.py"
    import difflib
    diff = ''.join(list(difflib.unified_diff(have.splitlines(True), want.splitlines(True), 'README.md', 'from nbs/index.ipynb'))[:60])
    return f"README.md is out of date with nbs/index.ipynb; run: python tools/make_readme.py\n{diff}"

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--check', action='store_true', help='exit 1 if README.md differs from what index.ipynb gives')
    args = p.parse_args(argv)
    if args.check:
        if (msg := check()): print(msg, file=sys.stderr); return 1
        print('README.md is up to date')
        return 0
    README.write_text(render(), encoding='utf-8')
    print(f'wrote {README.relative_to(ROOT)}')
    return 0

if __name__ == '__main__': sys.exit(main())
