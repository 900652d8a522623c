#!/usr/bin/env bash
# Prints the table of a backup_bench.sh results file with cairn's ratios.
# Usage: bench/report.sh RESULTS.tsv [1 for Markdown]
set -euo pipefail
awk -F'\t' -v md="${2:-0}" '
  { v[$1 "," $2 ",wall"] = $3; v[$1 "," $2 ",cpu"] = $4; v[$1 "," $2 ",rss"] = $5; tools[$1] = 1 }
  function ratio(a, b) { return (a + 0 > 0 && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
  function mb(x) { return (x ~ /^[0-9.]+$/) ? sprintf("%.0f", x / 1024) : x }
  function row(cells,   i, s) {
    s = md ? "|" : ""
    for (i = 1; i <= cells[0]; i++) s = s (md ? " " cells[i] " |" : sprintf("%-16s", cells[i]))
    print s
  }
  END {
    n = 0; order[++n] = "cairn"; order[++n] = "restic"; order[++n] = "borg"
    h[0] = 0
    h[++h[0]] = "step"
    for (i = 1; i <= n; i++) if (order[i] in tools) {
      h[++h[0]] = order[i] " wall s"; h[++h[0]] = order[i] " CPU s"; h[++h[0]] = order[i] " RSS MB"
    }
    h[++h[0]] = "cairn/restic"; h[++h[0]] = "cairn/borg"
    row(h)
    if (md) { s = "|"; for (i = 1; i <= h[0]; i++) s = s "---|"; print s }
    split("first incremental restore", steps, " ")
    for (k = 1; k <= 3; k++) {
      st = steps[k]; r[0] = 0; r[++r[0]] = st
      for (i = 1; i <= n; i++) if (order[i] in tools) {
        t = order[i]; r[++r[0]] = v[t "," st ",wall"]; r[++r[0]] = v[t "," st ",cpu"]; r[++r[0]] = mb(v[t "," st ",rss"])
      }
      r[++r[0]] = ratio(v["cairn," st ",wall"], v["restic," st ",wall"])
      r[++r[0]] = ratio(v["cairn," st ",wall"], v["borg," st ",wall"])
      row(r)
    }
    r[0] = 0; r[++r[0]] = "repo size MB"
    for (i = 1; i <= n; i++) if (order[i] in tools) {
      t = order[i]; r[++r[0]] = sprintf("%.0f", v[t ",size,wall"] / 1048576); r[++r[0]] = ""; r[++r[0]] = ""
    }
    r[++r[0]] = ratio(v["cairn,size,wall"], v["restic,size,wall"])
    r[++r[0]] = ratio(v["cairn,size,wall"], v["borg,size,wall"])
    row(r)
    r[0] = 0; r[++r[0]] = "peak RSS ratio"
    for (i = 1; i <= n; i++) if (order[i] in tools) { r[++r[0]] = ""; r[++r[0]] = ""; r[++r[0]] = "" }
    mc = 0; mr = 0; mbg = 0
    for (k = 1; k <= 3; k++) {
      st = steps[k]
      if (v["cairn," st ",rss"] + 0 > mc) mc = v["cairn," st ",rss"] + 0
      if (v["restic," st ",rss"] + 0 > mr) mr = v["restic," st ",rss"] + 0
      if (v["borg," st ",rss"] + 0 > mbg) mbg = v["borg," st ",rss"] + 0
    }
    r[++r[0]] = ratio(mc, mr); r[++r[0]] = ratio(mc, mbg)
    row(r)
    for (i = 1; i <= n; i++) if (order[i] in tools) print order[i] " restore verified: " v[order[i] ",verify,wall"]
  }' "$1"
