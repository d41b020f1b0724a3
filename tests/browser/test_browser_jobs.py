"""Live job progress in a real Chromium, against the real demo: the "Run a job" button moves the bar in every tab to done,
and a tab opened mid-job shows the bar where the job is at once, then follows it to done.

Each test runs for the demo's three page setups: htmx 2 sharing one connection through a shared worker, htmx 2 with a
connection per tab (`--no-share`), and htmx 4 (`--htmx 4`), shared and per tab. The demo's job takes 2.5 s, in ten steps.
"""
import re, time
import pytest
from pages import demo, open_tab, STREAM_OPEN

pytestmark = pytest.mark.timeout(120)

CONFIGS = {'htmx2-shared': (2, []), 'htmx2-per-tab': (2, ['--no-share']), 'htmx4-shared': (4, ['--htmx', '4']),
           'htmx4-per-tab': (4, ['--htmx', '4', '--no-share'])}
JOB_SECONDS = 2.5

# Records every (state, percent) the job bar shows, in order, as htmx swaps it in.
RECORD = """() => {
  window.jobLog = [];
  const note = () => {
    const bar = document.getElementById('job-demo');
    const seen = bar ? bar.dataset.state + ' ' + bar.dataset.percent : 'missing';
    if (window.jobLog[window.jobLog.length - 1] !== seen) window.jobLog.push(seen);
  };
  note();
  new MutationObserver(note).observe(document.body, {childList: true, subtree: true, attributes: true});
}"""

@pytest.fixture(params=list(CONFIGS))
def config(request, htmx2_assets, htmx4_assets):
    version, args = CONFIGS[request.param]
    return (htmx2_assets if version == 2 else htmx4_assets), args

def bar(page):
    "(state, percent) of the job bar."
    return page.get_attribute('#job-demo', 'data-state'), int(page.get_attribute('#job-demo', 'data-percent'))

def wait_job(page, test, timeout, what):
    "Wait until `test(state, percent)` (a JS expression) holds for the job bar; return the seconds it took."
    start = time.monotonic()
    js = f"""() => {{ const b = document.getElementById('job-demo'); if (!b) return false;
                     const state = b.dataset.state, percent = Number(b.dataset.percent); return {test}; }}"""
    try: page.wait_for_function(js, timeout=timeout * 1000, polling=20)
    except Exception as e: raise AssertionError(f"job bar of {page.url} is {bar(page)}, expected {what} within {timeout} s") from e
    return time.monotonic() - start

def moved_to_done(log):
    "The recorded bar went up step by step to done at 100%: a few running states in between, never backwards."
    running = [int(s.split()[1]) for s in log if s.startswith('running ')]
    return log[-1] == 'done 100' and len(set(running)) >= 3 and running == sorted(running)

def test_job_progress_in_every_tab(context, config):
    assets, args = config
    with demo(assets, *args) as url:
        a, b = open_tab(context, url), open_tab(context, url)
        assert bar(a) == ('idle', 0), bar(a)
        for tab in (a, b): tab.evaluate(RECORD)
        a.bring_to_front()
        started = time.monotonic()
        a.click('#run-job')
        took = [wait_job(tab, "state === 'done' && percent === 100", JOB_SECONDS + 3, 'done at 100%') for tab in (b, a)]
        logs = [tab.evaluate('window.jobLog') for tab in (a, b)]
        for log in logs: assert moved_to_done(log), log
        assert a.text_content('#job-demo .job-state') == 'Done' and b.text_content('#job-demo .job-percent') == '100%'
        print(f"\n{args}: both tabs showed done {time.monotonic() - started:.2f} s after the click (job: {JOB_SECONDS} s); tab B saw {logs[1]}")

def test_tab_opened_mid_job(context, config):
    assets, args = config
    with demo(assets, *args) as url:
        a = open_tab(context, url)
        a.click('#run-job')
        wait_job(a, "state === 'running' && percent >= 20", JOB_SECONDS, 'running at 20% or more')
        late = context.new_page()
        response = late.goto(url)
        rendered = int(re.search(r'data-percent="(\d+)" id="job-demo"', response.text()).group(1))
        at_load = bar(late)
        late.evaluate(RECORD)
        assert 0 < rendered < 100, f"the page rendered mid-job shows {rendered}%"
        assert at_load[0] == 'running' and at_load[1] >= rendered, at_load
        late.wait_for_function(STREAM_OPEN, timeout=10_000)
        wait_job(late, "state === 'done' && percent === 100", JOB_SECONDS + 3, 'done at 100%')
        log = late.evaluate('window.jobLog')
        assert log[-1] == 'done 100' and len(log) >= 2, log
        running = [int(s.split()[1]) for s in log if s.startswith('running ')]
        assert running == sorted(running) and running[0] >= rendered, log
        print(f"\n{args}: the tab opened mid-job showed {rendered}% in the page as served, then {log}")
