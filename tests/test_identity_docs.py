"The documented identify= examples take the user from something the browser can't forge, and the docs say why a query parameter is never an identity."
import json, re
from helpers import ROOT

FORGEABLE = re.compile(r"""(query_params|headers)(\.get\(|\[)\s*['"](user|username|user_id|uid)['"]""")

def doc_sources():
    "Every notebook's cell sources and the README, as (name, text)."
    for nb in sorted((ROOT / 'nbs').rglob('*.ipynb')):
        yield str(nb.relative_to(ROOT)), '\n'.join(''.join(c['source']) for c in json.loads(nb.read_text(encoding='utf-8'))['cells'])
    yield 'README.md', (ROOT / 'README.md').read_text(encoding='utf-8')

def test_no_doc_example_reads_the_user_from_the_query_or_a_header():
    bad = [name for name, text in doc_sources() if FORGEABLE.search(text)]
    assert not bad, f"these docs take a user from a query parameter or header anyone can set: {bad}"

def test_the_users_section_says_why_a_query_parameter_is_never_an_identity():
    text = dict(doc_sources())['nbs/core/broadcast.ipynb']
    section = text.split('### Users: every tab of one person', 1)[1][:3000]
    assert 'session' in section and 'Never from a query parameter' in section, section[:600]
