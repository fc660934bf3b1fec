#!/usr/bin/env python3
"""Prints bench/run.sh's table from GNU `/usr/bin/time -v -o FILE` outputs.

  timing_table.py --bytes N --lines N [--ratio A/B] NAME=FILE[,FILE...] ...

With several files for one tool (--repeat), the run with the lowest wall time is shown.
Columns: wall s, MB/s (10^6 bytes), lines/s, CPU s (user+sys), peak RSS MiB.
"""

import argparse
import re
import sys


def parse_time_v(path):
    """{'wall', 'cpu', 'rss_mib', 'exit'} from /usr/bin/time -v output."""
    with open(path) as f:
        text = f.read()

    def field(label):
        m = re.search(r'^\s*' + re.escape(label) + r':\s*(.+)$', text, re.M)
        if not m:
            raise ValueError('%s: no "%s" (is it /usr/bin/time -v output?)' % (path, label))
        return m.group(1).strip()

    wall = 0.0
    for part in field('Elapsed (wall clock) time (h:mm:ss or m:ss)').split(':'):
        wall = wall * 60 + float(part)
    return {'wall': wall,
            'cpu': float(field('User time (seconds)')) + float(field('System time (seconds)')),
            'rss_mib': int(field('Maximum resident set size (kbytes)')) / 1024.0,
            'exit': int(field('Exit status'))}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--bytes', type=int, required=True)
    ap.add_argument('--lines', type=int, required=True)
    ap.add_argument('--ratio', action='append', default=[],
                    help='A/B: print how A compares with B (throughput and CPU)')
    ap.add_argument('runs', nargs='+', metavar='NAME=FILE[,FILE...]')
    a = ap.parse_args(argv)
    res = {}
    order = []
    for spec in a.runs:
        name, _, files = spec.partition('=')
        runs = [parse_time_v(p) for p in files.split(',') if p]
        if not runs:
            continue
        res[name] = min(runs, key=lambda r: r['wall'])
        res[name]['n'] = len(runs)
        order.append(name)
    head = ('tool', 'wall s', 'MB/s', 'lines/s', 'CPU s', 'peak RSS MiB')
    rows = []
    for name in order:
        r = res[name]
        w = r['wall']
        name += '' if r['exit'] == 0 else ' (exit %d)' % r['exit']
        if w < 0.01:                # below GNU time's 10 ms resolution
            rows.append((name, '<0.01', '-', '-', '%.2f' % r['cpu'], '%.1f' % r['rss_mib']))
            continue
        rows.append((name, '%.2f' % w, '{:,.0f}'.format(a.bytes / 1e6 / w),
                     '{:,.0f}'.format(a.lines / w), '%.2f' % r['cpu'], '%.1f' % r['rss_mib']))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = '| ' + ' | '.join('%%-%ds' % widths[0] if i == 0 else '%%%ds' % widths[i]
                             for i in range(len(head))) + ' |'
    print(line % head)
    print('|' + '|'.join('-' * (w + 2) for w in widths) + '|')
    for row in rows:
        print(line % row)
    for spec in a.ratio:
        x, _, y = spec.partition('/')
        if x in res and y in res:
            rx, ry = res[x], res[y]
            print('%s / %s: %.2fx the throughput, %.2fx the CPU seconds, %.2fx the peak RSS' % (
                x, y, ry['wall'] / max(rx['wall'], 0.005), rx['cpu'] / max(ry['cpu'], 0.005),
                rx['rss_mib'] / max(ry['rss_mib'], 0.1)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
