#!/usr/bin/env python3
"""Checks the DOM a real browser built for a registry-rca UI page against the JSON API.

Usage: ui_dom.py timeline DOM_FILE EXPLAIN_JSON_FILE
       ui_dom.py overview DOM_FILE CAUSES_JSON_FILE
       ui_dom.py cause DOM_FILE CAUSE_JSON_FILE
       ui_dom.py inert DOM_FILE TEXT...
       ui_dom.py report DOM_FILE UPLOAD_UUID...
       ui_dom.py offline DOM_FILE
       ui_dom.py rawlines DOM_FILE TEXT...
       ui_dom.py hops DOM_FILE STATUS...

`timeline`: the upload page shows what the API says: both lanes, one event per API event (in
the drawing and in the table), the verdict and outcome word for word, the visibility interval
with its kind, and the race mark for a raced upload.
`overview`: one row per cause of the causes API, in its order, with its count.
`cause`: the summary, one row per example and one link per upload of the cause API.
`timeline` also checks that every event whose API entry has a raw line shows it, word for word,
in its row of the events table (a <details> with the file as summary), and that the hops the
API gives (if any) are drawn in a third lane with their statuses.
`report`: analyze's HTML report has a section per UPLOAD_UUID whose timeline has both lanes,
as many drawn events as table rows, the raw line of each, a verdict and the race mark for a
raced upload; and an overview with at least one cause.
`offline`: nothing in the document is fetched (no src, no stylesheet link, no url() or
@import) and no link leaves the file (every href is a #fragment).
`rawlines`: each TEXT is inside a raw line of an events table (a page's or a report's), and no raw line is longer than
the correlator keeps (2 KiB and the cut marker).
`hops`: some upload (a page, or a report's section) draws the hops in front of the registry in
a lane of their own above the registry's, with a response of each STATUS, and shows each hop's
raw line in its table.
`inert`: the page holds no element that log content could have injected (script, img, iframe,
object, embed, any on* attribute, any javascript: URL), its title was not changed, and each TEXT
appears as text.
Prints one line per failed expectation and exits 1 if any failed.
"""
import html.parser
import json
import sys


class Dom(html.parser.HTMLParser):
    """Elements with their attributes, the text under each id, the document's title."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.elements = []  # (tag, attrs dict), in document order
        self.text_by_id = {}
        self.title = ""
        self.text = []
        self._open_ids = []  # (tag, id) of open elements with an id
        self._in_head = False
        self._in_title = False
        self.sections = []  # ids of the open <section>s
        self.tables = []  # ids of the open <table>s
        self.where = []  # (section id, table id) of each element, as `elements`
        self.raw_lines = []  # (section id, table id, text) of each <pre class="raw">
        self._in_raw = False
        self.style_text = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "section":
            self.sections.append(attributes.get("id", ""))
        if tag == "table":
            self.tables.append(attributes.get("id", ""))
        if tag == "pre" and "raw" in attributes.get("class", "").split():
            self._in_raw = True
            self.raw_lines.append([self.section(), self.table(), ""])
        if tag == "style":
            self._in_style = True
        self.elements.append((tag, attributes))
        self.where.append((self.section(), self.table()))
        if tag == "head":
            self._in_head = True
        if tag == "title" and self._in_head:
            self._in_title = True
        if "id" in attributes:
            self._open_ids.append((tag, attributes["id"]))
            self.text_by_id.setdefault(attributes["id"], "")

    def section(self):
        return self.sections[-1] if self.sections else None

    def table(self):
        return self.tables[-1] if self.tables else None

    def handle_endtag(self, tag):
        if tag == "section" and self.sections:
            self.sections.pop()
        if tag == "table" and self.tables:
            self.tables.pop()
        if tag == "pre":
            self._in_raw = False
        if tag == "style":
            self._in_style = False
        if tag == "head":
            self._in_head = False
        if tag == "title":
            self._in_title = False
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data):
        if self._in_raw:
            self.raw_lines[-1][2] += data
        if self._in_style:
            self.style_text += data
            return
        self.text.append(data)
        if self._in_title:
            self.title += data
        for _, element_id in self._open_ids:
            self.text_by_id[element_id] += data


def parse(path):
    dom = Dom()
    with open(path, encoding="utf-8") as f:
        dom.feed(f.read())
    return dom


def classes(attrs):
    return set(attrs.get("class", "").split())


def check_timeline(dom, explain):
    failures = []
    expect = lambda ok, what: ok or failures.append(what)
    svg = [a for t, a in dom.elements if t == "svg" and a.get("id") == "timeline"]
    expect(len(svg) == 1, "no <svg id=timeline>")
    labels = [a for t, a in dom.elements if t == "text" and "lane-label" in classes(a)]
    lanes = 3 if explain.get("hops") else 2
    expect(len(labels) == lanes, f"expected {lanes} lane labels, found {len(labels)}")
    events = [a for t, a in dom.elements if t == "g" and "event" in classes(a)]
    api_events = explain["events"]
    expect(len(events) == len(api_events),
           f"drawing has {len(events)} events, the API {len(api_events)}")
    stores = sum(1 for a in events if "store" in classes(a))
    expect(stores == sum(1 for e in api_events if e["side"] == "store"),
           f"store lane has {stores} events, the API another number")
    statuses = sorted(int(a.get("data-status", -1)) for a in events)
    expect(statuses == sorted(e["status"] for e in api_events),
           f"event statuses {statuses} differ from the API's")
    rows = [a for (t, a), (_, table) in zip(dom.elements, dom.where)
            if t == "tr" and table == "events"]
    expect(len(rows) == len(api_events) + 1, f"table has {len(rows) - 1} rows")
    shown = sorted(text for _, table, text in dom.raw_lines if table == "events")
    kept = sorted(e["line"] for e in api_events if isinstance(e.get("line"), str))
    expect(shown == kept, f"{len(shown)} raw lines shown, the API has {len(kept)} "
           f"(or their text differs)")
    hops = explain.get("hops") or []
    drawn_hops = [a for t, a in dom.elements if t == "g" and "hop-event" in classes(a)]
    expect(len(drawn_hops) == len(hops), f"{len(drawn_hops)} hops drawn, the API has {len(hops)}")
    expect(dom.text_by_id.get("verdict", "").strip() == explain["verdict"],
           f"verdict differs: {dom.text_by_id.get('verdict')!r}")
    expect(dom.text_by_id.get("outcome", "").strip() == explain["outcome"],
           f"outcome differs: {dom.text_by_id.get('outcome')!r}")
    visibility = [a for t, a in dom.elements if a.get("id") == "visibility"]
    kind = explain["visibility"]["kind"]
    if explain["visibility"].get("lower_seconds") is not None and "create_start" in explain["visibility"]:
        expect(len(visibility) == 1 and visibility[0].get("data-kind") == kind,
               f"no visibility interval of kind {kind}")
        expect(kind in ("acknowledged", "interval", "lower_bound"), f"unexpected kind {kind}")
        if visibility:
            expect(float(visibility[0].get("width", 0)) > 0, "visibility interval has no width")
    else:
        failures.append("the API gives no visibility bounds to draw (create_start, lower_seconds)")
    if explain["outcome"].startswith("raced"):
        expect(any(a.get("id") == "race" for _, a in dom.elements), "no race mark")
    return failures


def check_overview(dom, causes):
    failures = []
    rows = [a.get("data-cause") for t, a in dom.elements if t == "tr" and "cause" in classes(a)]
    expected = [c["cause"] for c in causes["causes"]]
    if not expected:
        failures.append("the causes API has no cause in this window: nothing was tested")
    if rows != expected:
        failures.append(f"rows {rows} differ from the API's causes {expected}")
    counts = [t for t in dom.text_by_id.get("window", "").split() if t.isdigit()]
    total = sum(c["count"] for c in causes["causes"])
    if str(total) not in counts:
        failures.append(f"the total {total} is not stated: {dom.text_by_id.get('window')!r}")
    return failures


def check_cause(dom, cause):
    failures = []
    if cause["count"] == 0:
        failures.append("the cause API has no error in this window: nothing was tested")
    if dom.text_by_id.get("summary", "").strip() != cause["summary"]:
        failures.append(f"summary differs: {dom.text_by_id.get('summary')!r}")
    examples = [a for t, a in dom.elements if t == "tr" and "example" in classes(a)]
    if len(examples) != len(cause["examples"]):
        failures.append(f"{len(examples)} example rows, the API has {len(cause['examples'])}")
    links = [a.get("href") for t, a in dom.elements if t == "a"]
    for upload in cause["uploads"]:
        if f"/ui/uploads/{upload}" not in links:
            failures.append(f"no link to upload {upload}")
    if str(cause["count"]) not in dom.text_by_id.get("window", "").split():
        failures.append(f"the count {cause['count']} is not stated")
    return failures


def check_report(dom, uploads):
    failures = []
    expect = lambda ok, what: ok or failures.append(what)
    overview = [a for (t, a), (section, _) in zip(dom.elements, dom.where)
                if t == "tr" and "cause" in classes(a) and section == "overview"]
    expect(overview, "the overview lists no cause")
    if not uploads:
        failures.append("no upload named: nothing was tested")
    for uuid in uploads:
        section = f"upload-{uuid}"
        inside = [(t, a, table) for (t, a), (s, table) in zip(dom.elements, dom.where)
                  if s == section]
        if not inside:
            failures.append(f"no section for upload {uuid}")
            continue
        labels = [a for t, a, _ in inside if t == "text" and "lane-label" in classes(a)]
        expect(len(labels) >= 2, f"{uuid}: {len(labels)} lanes")
        events = [a for t, a, _ in inside if t == "g" and "event" in classes(a)]
        rows = [a for t, a, table in inside if t == "tr" and table == f"{section}-events"]
        expect(events and len(rows) == len(events) + 1,
               f"{uuid}: {len(events)} events drawn, {len(rows) - 1} in the table")
        lines = [text for s, table, text in dom.raw_lines
                 if s == section and table == f"{section}-events"]
        expect(len(lines) == len(events) and all(lines),
               f"{uuid}: {len(lines)} raw lines for {len(events)} events")
        verdict = dom.text_by_id.get(f"{section}-verdict", "").strip()
        expect(verdict, f"{uuid}: no verdict")
        outcome = dom.text_by_id.get(f"{section}-outcome", "").strip()
        if outcome.startswith("raced"):
            expect(any(a.get("id") == f"{section}-race" for _, a, _ in inside),
                   f"{uuid}: raced without a race mark")
    return failures


def check_offline(dom):
    failures = []
    for tag, attrs in dom.elements:
        if "src" in attrs or (tag == "link" and "stylesheet" in attrs.get("rel", "")):
            failures.append(f"<{tag}> loads {attrs.get('src') or attrs.get('href')}")
        href = attrs.get("href")
        if href is not None and not href.startswith("#"):
            failures.append(f"<{tag}> links out of the file: {href}")
    if "url(" in dom.style_text or "@import" in dom.style_text:
        failures.append("the style sheet fetches something")
    if not dom.style_text:
        failures.append("no inline style sheet")
    return failures


def check_rawlines(dom, texts):
    failures = []
    lines = [text for _, table, text in dom.raw_lines if table and table.endswith("events")]
    if not lines:
        failures.append("no raw line is shown")
    for text in texts:
        if not any(text in line for line in lines):
            failures.append(f"no raw line shows {text[:60]!r} as text")
    for line in lines:
        if len(line.encode()) > 2048 + 40:
            failures.append(f"a raw line of {len(line.encode())} bytes is past the bound")
    return failures


def check_hops(dom, statuses):
    failures = []
    lanes = {}
    for (t, a), (section, _) in zip(dom.elements, dom.where):
        if t == "rect" and "lane" in classes(a):
            lanes.setdefault(section, {})[a.get("id", "").rsplit("-", 1)[-1]] = float(a.get("y", 0))
    drawn = {}
    for (t, a), (section, _) in zip(dom.elements, dom.where):
        if t == "g" and "hop-event" in classes(a):
            drawn.setdefault(section, set()).add(a.get("data-status"))
    if not drawn:
        failures.append("no hop is drawn")
    for section, found in drawn.items():
        lane = lanes.get(section, {})
        if not ("hops" in lane and "registry" in lane and lane["hops"] < lane["registry"]):
            failures.append(f"{section}: the hops' lane is missing or not above the registry's")
        lines = [text for s, table, text in dom.raw_lines
                 if s == section and table and table.endswith("hops")]
        if not lines or not all(lines):
            failures.append(f"{section}: the hops' raw lines are not shown")
    every = set().union(*drawn.values()) if drawn else set()
    for status in statuses:
        if status not in every:
            failures.append(f"no hop response {status} is drawn")
    return failures


def check_inert(dom, texts):
    failures = []
    for tag, attrs in dom.elements:
        if tag in ("script", "img", "iframe", "object", "embed", "base", "form") and not (
            tag == "form" and attrs.get("action") == "/ui/search"
        ):
            failures.append(f"injected <{tag}> element: {attrs}")
        for name, value in attrs.items():
            if name.startswith("on"):
                failures.append(f"event handler attribute {name}={value!r} on <{tag}>")
            if value and "javascript:" in value.replace(" ", "").lower():
                failures.append(f"javascript: URL in {name} of <{tag}>")
    if "pwned" in dom.title:
        failures.append(f"a script ran: the title is {dom.title!r}")
    body_text = "".join(dom.text)
    for text in texts:
        if text not in body_text:
            failures.append(f"text not shown as text: {text!r}")
    return failures


def main():
    mode, dom_path = sys.argv[1], sys.argv[2]
    dom = parse(dom_path)
    if mode == "timeline":
        with open(sys.argv[3], encoding="utf-8") as f:
            failures = check_timeline(dom, json.load(f))
    elif mode == "overview":
        with open(sys.argv[3], encoding="utf-8") as f:
            failures = check_overview(dom, json.load(f))
    elif mode == "cause":
        with open(sys.argv[3], encoding="utf-8") as f:
            failures = check_cause(dom, json.load(f))
    elif mode == "report":
        failures = check_report(dom, sys.argv[3:])
    elif mode == "hops":
        failures = check_hops(dom, sys.argv[3:])
    elif mode == "rawlines":
        failures = check_rawlines(dom, sys.argv[3:])
    elif mode == "offline":
        failures = check_offline(dom)
    elif mode == "inert":
        failures = check_inert(dom, sys.argv[3:])
    else:
        print(f"unknown mode {mode}")
        return 2
    for failure in failures:
        print(failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
