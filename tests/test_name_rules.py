"Every name rule lives in core.ids: task names and job ids are checked by its one validator, and say what is wrong (issue 20)."
import re
import pytest
from helpers import ROOT
from cjm_fasthtml_sse.core.jobs import validate_job_id
from cjm_fasthtml_sse.core.tasks import validate_task_name, TASK_NAME
from cjm_fasthtml_sse.core import ids

_CLASS = re.compile(r'\[\^?A-Za-z0-9|\{1,12[48]\}')  # the name alphabet or its lengths, spelled out as a pattern

@pytest.mark.parametrize('module', ['tasks', 'jobs', 'broadcast', 'stream', 'metrics', 'updates', 'app'])
def test_no_module_but_ids_spells_the_name_rule(module):
    src = (ROOT/'cjm_fasthtml_sse'/'core'/f'{module}.py').read_text()
    code = '\n'.join(l for l in src.splitlines() if not l.lstrip().startswith('#') and ' # ' not in l)  # docments may name the rule
    assert not _CLASS.search(code), f"core/{module}.py spells the name rule itself: {_CLASS.search(code).group(0)!r}; use core.ids"

def test_task_names_use_the_ids_rule():
    assert TASK_NAME is ids.NAME_PATTERN
    with pytest.raises(ValueError, match=r"invalid task name 'a/b': it contains characters that are not allowed: '/'"): validate_task_name('a/b')
    with pytest.raises(ValueError, match=r"must be a str, not int"): validate_task_name(3)

def test_job_ids_say_what_is_wrong():
    assert validate_job_id('x' * 124) == 'x' * 124
    with pytest.raises(ValueError, match=r"invalid job id 'a b': it contains characters that are not allowed: ' '; a job id is 1 to 124"): validate_job_id('a b')
    with pytest.raises(ValueError, match=r"too long \(125 characters\); a job id is 1 to 124 characters"): validate_job_id('x' * 125)
