#!/usr/bin/env python3
"""Checks that registry-rca, mtail and the generator's ground truth agree on the counts.

Inputs (any two or more):
  --expected FILE   <corpus>.expected.json written by bench/gen_logs.py
  --mtail FILE      output of `mtail --one_shot` with bench/registry.mtail (JSON, the
                    default --one_shot_format, or Prometheus text)
  --rca FILE        Prometheus exposition of `registry-rca analyze --format=metrics`
                    (registry_rca_responses_total{repository,operation,code},
                     registry_rca_errors_total{repository,operation,code,cause})

Compared:
  * responses per (repository, status), every source;
  * responses per (repository, method, status), expected vs mtail;
  * PathNotFound 500s: expected path_not_found_500, mtail registry_path_not_found_500_total,
    registry-rca sum of errors_total{cause=~"upload_not_yet_visible|upload_listing_missing"};
  * error responses per cause, expected vs registry-rca (shown; a failure only with
    --strict-causes).
If registry-rca folded repositories beyond its cap into repository="__other__", the other
sources are folded the same way (every repository registry-rca has no series for).

Prints the mismatches as a table; exits 0 when everything agrees, 1 on any mismatch,
2 on unreadable input.
"""

import argparse
import json
import re
import sys
from collections import Counter

PNF_CAUSES = ('upload_not_yet_visible', 'upload_listing_missing')
OTHER = '__other__'
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$')
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')


def _unescape(v):
    return v.replace('\\n', '\n').replace('\\"', '"').replace('\\\\', '\\')


def parse_prometheus(text):
    """[(name, {label: value}, float)] from the Prometheus text format."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError('line %d: not a sample: %.120s' % (n, line))
        labels, rest = {}, m.group(2) or ''
        pos = 0
        while pos < len(rest):
            lm = _LABEL.match(rest, pos)
            if not lm:
                raise ValueError('line %d: bad labels: %.120s' % (n, rest))
            labels[lm.group(1)] = _unescape(lm.group(2))
            pos = lm.end()
        out.append((m.group(1), labels, float(m.group(3))))
    return out


class Counts:
    """What one source says."""

    def __init__(self, name):
        self.name = name
        self.repo_status = Counter()          # (repository, status) -> n
        self.repo_method_status = None        # (repository, method, status) -> n
        self.pnf = None
        self.causes = None                    # cause -> n

    def total(self):
        return sum(self.repo_status.values())


def load_expected(path):
    with open(path) as f:
        doc = json.load(f)
    c = Counts('expected')
    c.repo_method_status = Counter()
    for r in doc['responses']:
        c.repo_status[(r['repository'], str(r['status']))] += r['count']
        c.repo_method_status[(r['repository'], r['method'], str(r['status']))] += r['count']
    c.pnf = doc['path_not_found_500']
    c.causes = Counter({k: v for k, v in doc['errors_by_cause'].items()})
    return c


def load_mtail(path):
    with open(path) as f:
        text = f.read()
    c = Counts('mtail')
    c.repo_method_status = Counter()
    c.pnf = 0
    if text.lstrip().startswith('{'):
        doc = json.loads(text)
        samples = []
        for name, metrics in doc.items():
            for m in metrics:
                keys = m.get('Keys') or []
                for lv in m.get('LabelValues') or []:
                    labels = dict(zip(keys, lv.get('Labels') or []))
                    samples.append((name, labels, float(lv['Value']['Value'])))
    else:
        samples = parse_prometheus(text)
    for name, labels, value in samples:
        if name == 'registry_responses_total':
            repo, method, status = labels.get('repository', ''), labels.get('method', ''), labels.get('status', '')
            c.repo_status[(repo, status)] += int(value)
            c.repo_method_status[(repo, method, status)] += int(value)
        elif name == 'registry_path_not_found_500_total':
            c.pnf += int(value)
    return c


def load_rca(path):
    with open(path) as f:
        samples = parse_prometheus(f.read())
    c = Counts('registry-rca')
    c.pnf = 0
    c.causes = Counter()
    seen = False
    for name, labels, value in samples:
        if name == 'registry_rca_responses_total':
            seen = True
            c.repo_status[(labels.get('repository', ''), labels.get('code', ''))] += int(value)
        elif name == 'registry_rca_errors_total':
            cause = labels.get('cause', '')
            c.causes[cause] += int(value)
            if cause in PNF_CAUSES:
                c.pnf += int(value)
    if not seen:
        raise ValueError('%s: no registry_rca_responses_total samples' % path)
    return c


def fold(counts, keep):
    """Repositories outside `keep` become __other__ (registry-rca's cap)."""
    def f(k):
        return (k[0] if k[0] in keep else OTHER,) + k[1:]
    out = Counter()
    for k, v in counts.repo_status.items():
        out[f(k)] += v
    counts.repo_status = out
    if counts.repo_method_status is not None:
        out = Counter()
        for k, v in counts.repo_method_status.items():
            out[f(k)] += v
        counts.repo_method_status = out


def table(title, header, rows, limit):
    print('\n%s' % title)
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(header)]
    fmt = '  '.join('%%-%ds' % w if i == 0 else '%%%ds' % w for i, w in enumerate(widths))
    print('  ' + fmt % tuple(header))
    for r in rows[:limit]:
        print('  ' + fmt % tuple(r))
    if len(rows) > limit:
        print('  ... %d more' % (len(rows) - limit))


def compare_maps(sources, attr, label, limit):
    """Rows where the sources disagree; returns the number of mismatching keys."""
    maps = [(s.name, getattr(s, attr)) for s in sources if getattr(s, attr) is not None]
    if len(maps) < 2:
        return 0
    keys = set()
    for _, m in maps:
        keys.update(k for k, v in m.items() if v)
    bad = []
    for k in keys:
        vals = [m.get(k, 0) for _, m in maps]
        if len(set(vals)) > 1:
            bad.append(list(k) + vals + [max(vals) - min(vals)])
    if bad:
        bad.sort(key=lambda r: (-r[-1], r))
        n = len(bad[0]) - len(maps) - 1
        header = ['repository', 'method', 'status'][:n] if n == 3 else ['repository', 'status']
        table('MISMATCH %s (%d keys)' % (label, len(bad)),
              [h if h != 'repository' else 'repository ("" = no repository)' for h in header] +
              [name for name, _ in maps] + ['diff'],
              [[repr(r[0]) if r[0] == '' else r[0]] + r[1:] for r in bad], limit)
    return len(bad)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 epilog=__doc__.split('\n\n', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--expected')
    ap.add_argument('--mtail')
    ap.add_argument('--rca')
    ap.add_argument('--strict-causes', action='store_true',
                    help='also fail when registry-rca error causes differ from the ground truth')
    ap.add_argument('--max-rows', type=int, default=30)
    a = ap.parse_args(argv)
    try:
        sources = []
        if a.expected:
            sources.append(load_expected(a.expected))
        if a.mtail:
            sources.append(load_mtail(a.mtail))
        if a.rca:
            sources.append(load_rca(a.rca))
    except (OSError, ValueError, KeyError) as e:
        print('compare.py: %s' % e, file=sys.stderr)
        return 2
    if len(sources) < 2:
        ap.error('give at least two of --expected, --mtail, --rca')

    rca = next((s for s in sources if s.name == 'registry-rca'), None)
    if rca is not None and any(k[0] == OTHER for k in rca.repo_status):
        keep = {k[0] for k in rca.repo_status if k[0] != OTHER}
        for s in sources:
            if s is not rca:
                fold(s, keep)
        print('registry-rca folded repositories into %s; the other sources are folded alike '
              '(%d repositories kept)' % (OTHER, len(keep)))

    names = [s.name for s in sources]
    rows = [['responses'] + [s.total() for s in sources],
            ['PathNotFound 500s'] + [s.pnf if s.pnf is not None else '-' for s in sources]]
    statuses = sorted({k[1] for s in sources for k in s.repo_status})
    for st in statuses:
        rows.append(['  status %s' % st] + [sum(v for k, v in s.repo_status.items() if k[1] == st)
                                            for s in sources])
    table('Totals', [''] + names, rows, 1000)

    failures = 0
    failures += compare_maps(sources, 'repo_status', 'responses by (repository, status)', a.max_rows)
    failures += compare_maps(sources, 'repo_method_status', 'responses by (repository, method, status)',
                             a.max_rows)
    pnfs = [(s.name, s.pnf) for s in sources if s.pnf is not None]
    if len({v for _, v in pnfs}) > 1:
        print('\nMISMATCH PathNotFound 500s: %s' % ', '.join('%s=%d' % p for p in pnfs))
        failures += 1

    exp = next((s for s in sources if s.name == 'expected'), None)
    if exp is not None and rca is not None:
        causes = sorted(set(exp.causes) | {c for c, v in rca.causes.items() if v})
        crow = [[c, exp.causes.get(c, 0), rca.causes.get(c, 0),
                 '' if exp.causes.get(c, 0) == rca.causes.get(c, 0) else '<>'] for c in causes]
        table('Error responses by cause', ['cause', 'expected', 'registry-rca', ''], crow, 1000)
        if a.strict_causes and any(r[3] for r in crow):
            print('MISMATCH error causes (--strict-causes)')
            failures += 1

    if failures:
        print('\nFAIL: %d mismatch(es) between %s' % (failures, ', '.join(names)))
        return 1
    print('\nOK: %s agree (%d responses, %s PathNotFound 500s)' % (
        ', '.join(names), sources[0].total(), pnfs[0][1] if pnfs else '-'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
