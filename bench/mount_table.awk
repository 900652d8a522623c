# bench/mount_table.awk — the table and targets of bench/mount_bench.sh.
#   awk -F'\t' -v md=0|1 -f mount_table.awk META RESULTS
# META: key<TAB>value (title, note1...); RESULTS: results-mount.tsv
# (part tool step seconds mbps rss_mb value status note). md=1: Markdown.
FNR == 1 { file++ }
file == 1 { meta[$1] = $2; next }
file == 2 {
  k = $2 SUBSEP $3
  part[k] = $1; secs[k] = $4; mbps[k] = $5; rss[k] = $6; value[k] = $7; status[k] = $8; note[k] = $9
  if ($3 == "version") version[$2] = $9
  if ($3 == "note") notes[++nnotes] = ($2 == "all" ? "" : $2 ": ") $9
  next
}
# Rows are collected by line() and printed by flush(): padded to the
# widest cell of each column, or as Markdown.
function line(a, n,   i) {
  nrows++
  for (i = 1; i <= n; i++) {
    rows[nrows, i] = a[i]
    if (length(a[i]) > width[i]) width[i] = length(a[i])
  }
  ncols[nrows] = n
}
function flush(   r, i, s) {
  for (r = 1; r <= nrows; r++) {
    s = md ? "|" : ""
    for (i = 1; i <= ncols[r]; i++)
      s = s (md ? " " rows[r, i] " |" : sprintf("%-" (width[i] + 2) "s", rows[r, i]))
    sub(/ +$/, "", s)
    print s
    if (md && r == 1) { s = "|"; for (i = 1; i <= ncols[r]; i++) s = s "---|"; print s }
  }
}
function num(x) { return x ~ /^[0-9.]+$/ }
function ratio(a, b) { return (num(a) && num(b) && b + 0 > 0) ? sprintf("%.2f", a / b) : "-" }
function get(t, st, f,   k) {
  k = t SUBSEP st
  if (!(k in status)) return ""
  if (status[k] != "ok") return f == "secs" ? status[k] : "-"
  return f == "secs" ? secs[k] : f == "mbps" ? mbps[k] : f == "rss" ? rss[k] : value[k]
}
function amount(st, v) {
  if (!num(v)) return "-"
  if (st ~ /tar|big/) return sprintf("%.1f MB", v / 1e6)
  if (st ~ /ls/) return v " entries"
  if (st ~ /find/) return v " files"
  return v
}
# peer(step, tool): the step of that tool a cairn row is compared with.
function peer(st, t) { return (st == "tar-warm" || st == "tar-fill") ? "tar" : (st == "m-ls-remount" && t == "direct") ? "m-ls-first" : st }
function target(name, ok, measured) {
  print pre name ": " measured " — " (ok == "" ? "not measured" : ok ? "met" : "MISSED")
}
END {
  pre = md ? "- " : "  "
  ns = split("mount find tar tar-fill tar-warm big m-mount m-find m-tar m-ls-first m-ls-warm m-ls-remount", steps, " ")
  label["mount"] = "mount until ready"
  label["find"] = "find -type f, cold"
  label["tar"] = "tar (read all), cold"
  label["tar-fill"] = "tar, cold, filling a --cache-size blob cache"
  label["tar-warm"] = "tar, blob cache warm, page cache dropped"
  label["big"] = "big file read (cat), cold"
  label["m-mount"] = "manyfiles: mount until ready"
  label["m-find"] = "manyfiles: find -type f, cold"
  label["m-tar"] = "manyfiles: tar, cold (same mount)"
  label["m-ls-first"] = "manyfiles: ls -l of the big dir, first"
  label["m-ls-warm"] = "manyfiles: ls -l of the big dir, warm"
  label["m-ls-remount"] = "manyfiles: ls -l of the big dir, remounted, page cache dropped"
  nt = split("cairn restic borg direct", tools, " ")
  print meta["title"]
  if (md) print ""
  n = 0
  split("step|tool|s|MB/s|peak RSS MB|files / bytes|cairn/restic|cairn/borg|cairn/direct", h, "|")
  line(h, 9)
  for (si = 1; si <= ns; si++) {
    st = steps[si]
    for (ti = 1; ti <= nt; ti++) {
      t = tools[ti]
      if (!((t SUBSEP st) in status)) continue
      n = 0; r[++n] = label[st]; r[++n] = t
      r[++n] = get(t, st, "secs"); r[++n] = get(t, st, "mbps"); r[++n] = get(t, st, "rss")
      r[++n] = amount(st, get(t, st, "value"))
      if (t == "cairn") {
        r[++n] = ratio(get("cairn", st, "secs"), get("restic", peer(st, "restic"), "secs"))
        r[++n] = ratio(get("cairn", st, "secs"), get("borg", peer(st, "borg"), "secs"))
        r[++n] = ratio(get("cairn", st, "secs"), get("direct", peer(st, "direct"), "secs"))
      } else { r[++n] = ""; r[++n] = ""; r[++n] = "" }
      for (i = 1; i <= n; i++) if (r[i] == "") r[i] = (i <= 6) ? "-" : ""
      line(r, n)
    }
  }
  flush()
  print ""
  for (ti = 1; ti <= nt; ti++) {
    t = tools[ti]
    if (t in version) print pre t ": " version[t]
  }
  for (i = 1; i <= nnotes; i++) print pre notes[i]
  for (k in status) if (status[k] != "ok" && status[k] != "skipped") {
    split(k, kk, SUBSEP); print pre status[k] ": " kk[1] " " kk[2] ": " note[k]
  }
  for (k = 1; ("note" k) in meta; k++) print pre meta["note" k]
  print ""
  print "Targets (issue 4):"
  if (md) print ""
  c = get("cairn", "find", "secs"); r1 = get("restic", "find", "secs"); b1 = get("borg", "find", "secs")
  best = (num(r1) && num(b1)) ? (r1 + 0 < b1 + 0 ? r1 : b1) : num(r1) ? r1 : b1
  target("find cold ≤ 0.4 × the faster of restic and borg", (num(c) && num(best)) ? (c / best <= 0.4) : "",
         num(c) && num(best) ? sprintf("%.2f × (%s s vs %s s)", c / best, c, best) : "-")
  c = get("cairn", "tar", "secs"); r1 = get("restic", "tar", "secs"); b1 = get("borg", "tar", "secs")
  target("tar cold ≤ 0.4 × restic", (num(c) && num(r1)) ? (c / r1 <= 0.4) : "",
         (num(c) && num(r1)) ? sprintf("%.2f × (%s s vs %s s)", c / r1, c, r1) : "-")
  target("tar cold ≤ 0.6 × borg", (num(c) && num(b1)) ? (c / b1 <= 0.6) : "",
         (num(c) && num(b1)) ? sprintf("%.2f × (%s s vs %s s)", c / b1, c, b1) : "-")
  c = get("cairn", "tar-warm", "mbps"); d = get("direct", "tar", "mbps")
  target("tar with the blob cache warm ≥ 60% of the direct cold read", (num(c) && num(d)) ? (c / d >= 0.6) : "",
         (num(c) && num(d)) ? sprintf("%.0f%% (%s vs %s MB/s)", 100 * c / d, c, d) : "-")
  c = get("cairn", "big", "mbps")
  target("big file cold ≥ 300 MB/s", num(c) ? (c >= 300) : "", num(c) ? c " MB/s" : "-")
  c = get("cairn", "m-tar", "rss")
  target("daemon peak RSS ≤ 150 MB during find + tar of 1M files", num(c) ? (c <= 150) : "",
         num(c) ? c " MB" (num(get("restic", "m-tar", "rss")) ? " (restic mount: " get("restic", "m-tar", "rss") " MB)" : "") : "-")
  c = get("cairn", "m-ls-warm", "secs")
  target("ls -l of the 100k directory, warm, ≤ 1 s", num(c) ? (c <= 1) : "", num(c) ? c " s" : "-")
}
