"""The offline docs site (tools/build_docs.py): every notebook renders, every public name shows its signature and
parameter docs, and every internal link resolves. The site is built once per module, in a subprocess."""
import enum, html, importlib, importlib.util, inspect, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
MODULES = ['cjm_fasthtml_sse.core.streaming', 'cjm_fasthtml_sse.core.classic', 'cjm_fasthtml_sse.core.ids', 'cjm_fasthtml_sse.core.messages',
           'cjm_fasthtml_sse.core.positions',
           'cjm_fasthtml_sse.core.connections', 'cjm_fasthtml_sse.core.fanout', 'cjm_fasthtml_sse.core.broadcast', 'cjm_fasthtml_sse.core.stream',
           'cjm_fasthtml_sse.core.backends', 'cjm_fasthtml_sse.core.updates', 'cjm_fasthtml_sse.core.jobs',
           'cjm_fasthtml_sse.core.tasks', 'cjm_fasthtml_sse.core.metrics', 'cjm_fasthtml_sse.core.app',
           'cjm_fasthtml_sse.testing', 'cjm_fasthtml_sse.demo']
SIDEBAR = ['index.ipynb', 'guide/users_and_channels.ipynb', 'guide/resume_and_resets.ipynb', 'guide/scaling_out.ipynb', 'deployment.ipynb',
           'demo.ipynb', 'core/app.ipynb', 'core/broadcast.ipynb', 'core/connections.ipynb', 'core/backends.ipynb', 'core/stream.ipynb', 'core/updates.ipynb',
           'core/jobs.ipynb', 'core/tasks.ipynb', 'core/metrics.ipynb', 'testing.ipynb',
           'core/fanout.ipynb', 'core/positions.ipynb', 'core/messages.ipynb', 'core/ids.ipynb', 'core/streaming.ipynb',
           'core/classic.ipynb']  # the guide path first, then the API, top down, then the classic 0.0.x API
pytestmark = pytest.mark.timeout(180)

def _tool(name):
    spec = importlib.util.spec_from_file_location(name, ROOT/'tools'/f'{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod

bd = _tool('build_docs')
_shown = _tool('store_outputs').shown

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """The rendered site. Built with --split-mixed-imports so that the other checks run even while a notebook mixes
    imports with code; `test_no_cell_mixes_imports_with_code` fails for that on its own."""
    out = tmp_path_factory.mktemp('site')/'_docs'
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py'), '--out', str(out), '--split-mixed-imports'],
                       cwd=ROOT, capture_output=True, text=True, timeout=170)
    assert r.returncode == 0, f"tools/build_docs.py failed\n--- stdout\n{r.stdout[-4000:]}\n--- stderr\n{r.stderr[-6000:]}"
    return out

# --- every notebook renders ------------------------------------------------------------------------
def test_sidebar_lists_the_pages_in_order():
    test_pages = bd.sidebar_pages()
    assert test_pages == SIDEBAR

def test_sidebar_shows_the_guide_before_the_api(site):
    "The sidebar's sections are headings on every page: the guide path first, then the API pages."
    nav = re.search(r'<nav class="sidebar".*?</nav>', (site/'core'/'broadcast.html').read_text(), re.S).group(0)
    heads = re.findall(r'<li class="section">([^<]*)</li>', nav)
    assert heads == ['Guide', 'API', 'Under the hood', 'Classic 0.0.x API'], heads
    assert nav.index('>Guide<') < nav.index('href="../guide/users_and_channels.html"') < nav.index('>API<') < nav.index('href="broadcast.html"'), nav

def test_every_notebook_rendered_to_a_page(site):
    manifest = json.loads((site/'manifest.json').read_text())
    notebooks = sorted(p.relative_to(ROOT).as_posix() for p in bd.notebooks())
    assert sorted(m['notebook'] for m in manifest) == notebooks
    for m in manifest:
        page = site/m['page']
        assert page.is_file(), m
        text = page.read_text()
        assert f'<h1 class="title">{html.escape(m["title"])}</h1>' in text, m['page']
        assert len(re.sub(r'<[^>]+>', '', text)) > 1000, f"{m['page']} is nearly empty"
        for other in manifest:  # the sidebar links every page
            assert f'>{html.escape(other["title"])}</a>' in text, (m['page'], other['title'])

def test_index_keeps_its_quick_start(site):
    "nbdev turns a title cell into page metadata, so prose in that cell would vanish from the page."
    text = (site/'index.html').read_text()
    assert 'id="quick-start"' in text and 'python -m cjm_fasthtml_sse.demo' in text

GLOSSARY = ['message', 'event', 'element builder', 'stream', 'connection', 'tab', 'share', 'hub', 'user', 'channel', 'log', 'cursor',
            'subscriber', 'newest id', 'position', 'resume', 'reset']

def test_index_has_a_glossary_of_the_words_used(site):
    "Issue 20: one word per concept, and the index page says which word means what, one row each."
    text = (site/'index.html').read_text()
    assert 'id="glossary"' in text, "index.html has no Glossary section"
    table = text[text.index('id="glossary"'):]
    table = table[:table.index('</table>')]
    defined = [html.unescape(re.sub(r'<[^>]+>', '', m)).strip() for m in re.findall(r'<strong>(.*?)</strong>', table)]
    missing = [w for w in GLOSSARY if w not in defined]
    assert not missing, f"the index glossary doesn't define {missing}; it defines {defined}"

# --- every public name, with its signature and parameter docs ------------------------------------------
def _blocks(page_html):
    "Map of heading id -> (heading text, text up to the next heading), for one rendered page."
    out, hs = {}, list(re.finditer(r'<h([1-6]) id="([^"]*)">(.*?)</h\1>', page_html, re.S))
    for i, m in enumerate(hs):
        end = hs[i + 1].start() if i + 1 < len(hs) else len(page_html)
        title = html.unescape(re.sub(r'<[^>]+>', '', m.group(3))).replace('¶', '').strip()
        out[m.group(2)] = (title, html.unescape(re.sub(r'<[^>]+>', '', page_html[m.end():end])))
    return out

def _modidx():
    from cjm_fasthtml_sse._modidx import d
    return d['syms']

def _documented(site, mod, qualname):
    "Problems with the rendered docs of `mod.qualname`: its show_doc heading, signature and docments."
    from fastcore.docments import DocmentText
    obj = importlib.import_module(mod)
    for part in qualname.split('.'): obj = getattr(obj, part)
    entry = _modidx()[mod].get(f'{mod}.{qualname}')
    home = getattr(getattr(obj, 'fget', obj), '__qualname__', qualname)  # a method a private base class defines (`_Registry.register`)
    if entry is None and home != qualname and (entry := _modidx()[mod].get(f'{mod}.{home}')) is not None:
        entry = (entry[0].split('#')[0] + '#' + bd.pandoc_id(qualname), *entry[1:])  # shown with show_doc(..., name=qualname)
    if entry is None: return [f"{mod}.{qualname} is missing from _modidx.py (run nbdev-export)"]
    page, anchor = entry[0].split('#')
    blocks = _blocks((site/page).read_text())
    # the show_doc block: at the anchor nbdev links to, or a later heading pandoc made unique with -N
    found = [b for i, b in blocks.items() if re.fullmatch(re.escape(anchor) + r'(-\d+)?', i) and b[0] == qualname]
    short = qualname.rsplit('.', 1)[-1]
    sig = [b for b in found if re.search(rf'\b(def|class) {re.escape(short)}\(', b[1])]
    if not sig: return [f"{qualname}: no show_doc signature under a heading #{anchor} in {page}"]
    text = sig[0][1]
    problems = []
    if isinstance(obj, type) and issubclass(obj, enum.Enum):  # its "signature" is the functional Enum API; show the members
        page_text = html.unescape(re.sub(r'<[^>]+>', '', (site/page).read_text()))
        return [f"{qualname}: member {m} not shown on {page}" for m in obj.__members__ if m not in page_text]
    try: params = [p for p in inspect.signature(obj).parameters if p != 'self']
    except (TypeError, ValueError): params = []
    for p in params:
        if not re.search(rf'\b{re.escape(p)}\b', text): problems.append(f"{qualname}: parameter {p!r} missing from the signature in {page}")
    for line in str(DocmentText(obj, docstring=False)).splitlines():  # each docment comment nbdev renders
        if ' # ' in line and (doc := line.split(' # ', 1)[1].strip()) and doc.replace('`', '') not in text.replace('`', ''):
            problems.append(f"{qualname}: parameter doc {doc!r} missing from {page}")
    return problems

def _public_names():
    for mod in MODULES:
        for name in importlib.import_module(mod).__all__: yield mod, name

@pytest.mark.parametrize('mod,name', list(_public_names()), ids=lambda v: v)
def test_public_name_is_documented(site, mod, name):
    obj = getattr(importlib.import_module(mod), name)
    if callable(obj) and not isinstance(obj, re.Pattern):
        home = getattr(obj, '__module__', mod)  # a name re-exported for old imports is documented where it is defined
        problems = _documented(site, home if home in MODULES else mod, name)
        assert not problems, '\n'.join(problems)
    else:  # a constant: named in code on its module's page
        page = next(u.split('#')[0] for u, _ in _modidx()[mod].values())
        text = (site/page).read_text()
        assert re.search(rf'<code>[^<]*\b{re.escape(name)}\b', text) or re.search(rf'>{re.escape(name)}<', text), \
            f"{mod}.{name} is not mentioned in code on {page}"

def _public_methods():
    syms = _modidx()
    for mod in MODULES:
        exported = set(importlib.import_module(mod).__all__)
        bases = {b.__name__: c for c in exported if isinstance(cls := getattr(importlib.import_module(mod), c), type)
                 for b in cls.__mro__[1:] if b.__module__ == mod and b.__name__.startswith('_')}  # private bases that compose a public class
        for key in syms.get(mod, {}):
            qual = key[len(mod) + 1:]
            parts = qual.split('.')
            if len(parts) == 2 and parts[0] in exported and not parts[1].startswith('_'): yield mod, qual
            if len(parts) == 2 and parts[0] in bases and not parts[1].startswith('_'): yield mod, f'{bases[parts[0]]}.{parts[1]}'

@pytest.mark.parametrize('mod,qual', list(_public_methods()), ids=lambda v: v)
def test_public_method_is_documented(site, mod, qual):
    problems = _documented(site, mod, qual)
    assert not problems, '\n'.join(problems)

# --- links -------------------------------------------------------------------------------------------
def test_internal_links_resolve(site):
    bad = bd.broken_links(site)
    assert not bad, '\n'.join(bad)
    n = sum(len(bd._parse(p).links) for p in site.glob('**/*.html'))
    assert n > 50, f"only {n} links found: is the link parser reading the pages?"

def test_link_checker_flags_broken_links(tmp_path):
    (tmp_path/'sub').mkdir()
    (tmp_path/'a.html').write_text('<h2 id="here">x</h2><a href="sub/b.html#there">ok</a><a href="#here">ok</a>'
                                   '<a href="https://example.com/x">external</a><a href="missing.html">bad</a>'
                                   '<a href="sub/b.html#nowhere">bad anchor</a><a href="#gone">bad local</a><a href="/abs.html">bad root</a>')
    (tmp_path/'sub'/'b.html').write_text('<p id="there">y</p><a href="../a.html#here">ok</a><a href="../../x.html">outside</a>')
    bad = bd.broken_links(tmp_path)
    assert len(bad) == 5, bad
    for frag in ['missing.html does not exist', "no id 'nowhere'", "no id 'gone'", 'root-relative', 'outside the site']:
        assert any(frag in b for b in bad), (frag, bad)

def test_links_into_the_site_become_relative():
    body = '<a href="https://cj-mills.github.io/cjm-fasthtml-sse/core/broadcast.html#x">a</a><a href="demo.ipynb">b</a>'
    out = bd._rewrite_links(body, 'core/streaming.html', 'https://cj-mills.github.io/cjm-fasthtml-sse')
    assert out == '<a href="broadcast.html#x">a</a><a href="demo.html">b</a>'

def test_headings_get_pandoc_ids():
    assert bd.pandoc_id('BroadcastManager.register') == 'broadcastmanager.register'
    assert bd.pandoc_id('A 5-minute tour') == 'a-5-minute-tour'
    assert bd.pandoc_id('HTTP/2 and the six-connection limit') == 'http2-and-the-six-connection-limit'
    body = bd._retarget_headings('<h3 id="X">X<a class="anchor-link" href="#X">¶</a></h3><h3 id="X">X</h3>')
    assert body == '<h3 id="x">X<a class="anchor-link" href="#x">¶</a></h3><h3 id="x-1">X</h3>'

# --- what nbdev-docs would trip on --------------------------------------------------------------------
def _nb(*cells):
    return {'cells': [{'cell_type': t, 'source': s, 'metadata': {}, **({'outputs': [], 'execution_count': None} if t == 'code' else {})}
                      for t, s in cells], 'metadata': {}, 'nbformat': 4, 'nbformat_minor': 5}

def test_mixed_import_cells_are_found_and_split():
    nb = _nb(('markdown', '# T\n\n> d'), ('code', 'import json'), ('code', '#| export\nimport os\nx = 1'),
             ('code', 'from a import b\nprint(b)'), ('code', '#| eval: false\nimport c\nc.run()'), ('code', 'def f():\n    import json\n    return 1'))
    assert bd.mixed_import_cells(nb) == [3]
    split = bd.split_mixed_imports(nb)
    assert [c['source'] for c in split['cells'][3:5]] == ['from a import b', 'print(b)']
    assert bd.mixed_import_cells(split) == []

def test_no_cell_mixes_imports_with_code():
    "nbdev-docs runs every cell that imports (for show_doc), on its own; such a cell must hold only imports."
    bad = [f"nbs/{p.relative_to(ROOT/'nbs').as_posix()} cell {i}: {bd._text(nb['cells'][i]['source']).splitlines()[0]!r}"
           for p in bd.notebooks() for nb in [json.loads(p.read_text())] for i in bd.mixed_import_cells(nb)]
    assert not bad, "move these imports into a cell of their own:\n" + '\n'.join(bad)

def test_title_cell_problem_is_found():
    assert bd.title_cell_problem(_nb(('markdown', '# T\n\n> desc\n\n- order: 2'))) is None
    assert 'vanishes' in bd.title_cell_problem(_nb(('markdown', '# T\n\n> desc\n\n## Quick start\n\ntext')))
    for p in bd.notebooks():
        assert bd.title_cell_problem(json.loads(p.read_text())) is None, p

def test_clean_for_nbconvert_removes_what_nbconvert_rejects():
    import nbformat
    nb = _nb(('code', '#| echo: false\n#| output: asis\nshow_doc(f)'), ('code', 'x'))
    nb['cells'][0]['metadata'] = {'execution': {'total': 0.5}}  # execnb's float
    nb['cells'][1]['has_sd'] = True  # nbdev's mark on a cell that has a show_doc
    nb['cells'][0]['outputs'] = [{'output_type': 'execute_result', 'data': {'text/markdown': ['### f\n', 'x']}, 'metadata': {}, 'execution_count': 1}]
    for i in (0, 1):
        one = {**nb, 'cells': [dict(nb['cells'][i], id='a')]}
        with pytest.raises(nbformat.ValidationError): nbformat.validate(nbformat.from_dict(one))
    clean = bd.clean_for_nbconvert(nb)
    assert clean.cells[0].metadata == {'tags': ['remove_input']}
    assert clean.cells[0].source == 'show_doc(f)'
    assert clean.cells[0].outputs[0].data['text/markdown'] == '### f\nx'
    assert 'has_sd' not in clean.cells[1]

# --- what show_doc writes for Quarto -------------------------------------------------------------------
def test_source_links_and_signatures_render_cleanly(site):
    "show_doc writes Quarto's `[source](url){target=...}` and, for types defined in the notebook, `__main__.Name`: neither may reach a page."
    pages = sorted(site.glob('**/*.html'))
    raw = [p.relative_to(site).as_posix() for p in pages if '{target=' in p.read_text()]
    main = [p.relative_to(site).as_posix() for p in pages if '__main__' in re.sub(r'<[^>]+>', '', p.read_text())]
    assert not raw, f"raw Quarto link attributes on {raw}"
    assert not main, f"__main__. in signatures on {main}"
    text = (site/'core'/'broadcast.html').read_text()
    assert re.search(r'<a href="https://github\.com/[^"]+"[^>]*target="_blank"[^>]*>source</a>', text), "the source links are gone"

def test_quarto_links_become_html():
    out = bd._quarto_to_html('[source](https://x.org/a.py#L3){target="_blank" style="float:right"}\n\n*x*:`__main__.Foo`')
    assert out == '<a href="https://x.org/a.py#L3" target="_blank" style="float:right">source</a>\n\n*x*:`Foo`'

# --- stored outputs: the pages show what the examples return --------------------------------------------
STORED = SIDEBAR  # every page
DETERMINISTIC = ['core/ids.ipynb', 'core/messages.ipynb']  # no ids, times or ports in their outputs: re-run and compare

def _outputs(cell):
    "The text a cell's stored outputs show."
    return [bd._text(o['data'].get('text/plain')) if 'data' in o else bd._text(o.get('text')) for o in cell.get('outputs', [])]

@pytest.mark.parametrize('rel', STORED)
def test_examples_have_stored_outputs(rel):
    "Every example cell that ends in a value or a `print` has its output stored, so the rendered page shows it."
    nb = json.loads((ROOT/'nbs'/rel).read_text())
    missing = [bd._text(c['source']).strip().splitlines()[-1] for c in nb['cells']
               if c['cell_type'] == 'code' and _shown(bd._text(c['source'])) and not _outputs(c)]
    assert not missing, f"nbs/{rel}: store its outputs with `python tools/store_outputs.py nbs/{rel}`; cells without output:\n" + '\n'.join(missing)

def test_output_check_sees_what_cells_show():
    assert [_shown(s) for s in ['x', 'a, b', 'print(x)', 'test_eq(a, b)', 'await f()', 'x = 1', '#| export\nx', 'f(x);', 'x\ny.z[0]']] == \
           ['value', 'value', 'print', None, None, None, None, None, 'value']

@pytest.mark.parametrize('rel', DETERMINISTIC)
def test_stored_outputs_are_current(rel):
    "Re-run a notebook whose outputs hold no ids, times or ports: each stored output matches what the code shows now."
    script = ("import json, sys\nfrom fastcore.nbio import read_nb\nfrom execnb.shell import CaptureShell\n"
              "nb = read_nb(sys.argv[1]); CaptureShell().run_all(nb, exc_stop=True)\n"
              "print(json.dumps([[o.get('data', {}).get('text/plain') or o.get('text') for o in c.get('outputs', [])] for c in nb.cells]))")
    path = ROOT/'nbs'/rel
    r = subprocess.run([sys.executable, '-c', script, str(path)], cwd=path.parent, capture_output=True, text=True, timeout=120,
                       env={**__import__('os').environ, 'PYTHONPATH': str(ROOT), 'IN_TEST': '1'})
    assert r.returncode == 0, r.stderr[-3000:]
    fresh = json.loads(r.stdout.strip().splitlines()[-1])
    nb = json.loads(path.read_text())
    stale = [(bd._text(c['source']).strip().splitlines()[-1], _outputs(c), [bd._text(x) for x in now])
             for c, now in zip(nb['cells'], fresh) if c['cell_type'] == 'code' and _outputs(c) and _outputs(c) != [bd._text(x) for x in now]]
    assert not stale, f"nbs/{rel}: stored outputs differ from a fresh run (re-run and store them):\n" + '\n'.join(map(repr, stale))
