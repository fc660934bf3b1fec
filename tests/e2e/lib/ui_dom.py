#!/usr/bin/env python3
"""Checks the DOM a real browser built for a registry-rca UI page against the JSON API.

Usage: ui_dom.py timeline DOM_FILE EXPLAIN_JSON_FILE
       ui_dom.py overview DOM_FILE CAUSES_JSON_FILE
       ui_dom.py cause DOM_FILE CAUSE_JSON_FILE
       ui_dom.py inert DOM_FILE TEXT...

`timeline`: the upload page shows what the API says: both lanes, one event per API event (in
the drawing and in the table), the verdict and outcome word for word, the visibility interval
with its kind, and the race mark for a raced upload.
`overview`: one row per cause of the causes API, in its order, with its count.
`cause`: the summary, one row per example and one link per upload of the cause API.
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

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "head":
            self._in_head = True
        if tag == "title" and self._in_head:
            self._in_title = True
        if "id" in attributes:
            self._open_ids.append((tag, attributes["id"]))
            self.text_by_id.setdefault(attributes["id"], "")

    def handle_endtag(self, tag):
        if tag == "head":
            self._in_head = False
        if tag == "title":
            self._in_title = False
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data):
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
    expect(len(labels) == 2, f"expected 2 lane labels, found {len(labels)}")
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
    rows = [a for t, a in dom.elements if t == "tr"]
    expect(len(rows) == len(api_events) + 1, f"table has {len(rows) - 1} rows")
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
