#!/usr/bin/env bash
# An installed cmbench stands on its own: `cmake --install` into a temporary
# prefix, then from a directory with no scenarios/ or plots/ the installed
# binary prints its version, runs a tiny sweep from an installed scenario,
# and draws its charts with the installed script. The example model of
# examples/out-of-tree-model builds against the prefix's CMake package, and
# its cmbench lists the model, verifies it and sweeps it beside epoll. The
# runtimes' servers are installed and pass verify from there. Then `cpack -G
# DEB` builds a package that declares its runtime dependencies.
# Usage: install_test.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for file in bin/cmbench share/man/man1/cmbench.1.gz share/cmbench/plots/plot_results.py share/cmbench/plots/report.py share/cmbench/plots/metrics.json share/cmbench/plots/cmbplots/registry.py \
            share/cmbench/scenarios/why-multithreaded.toml share/doc/cmbench/README.md \
            share/doc/cmbench/docs/models.md share/doc/cmbench/results/README.md; do
  [ -e "$prefix/$file" ] || fail "cmake --install did not install $file"
done
cmbench="$prefix/bin/cmbench"
# The runtimes' servers, beside the binary that finds them (the Go ones
# where Go was there to build them: scripts/deps installs it).
runtimes="$prefix/libexec/cmbench/runtimes"
for file in node/server.js python/workload.py python/python_threads.py python/python_asyncio.py \
            go-seed go-seed-goroutines go-net; do
  [ -e "$runtimes/$file" ] || fail "cmake --install did not install runtimes/$file"
done
[ -e "$prefix/share/cmbench/flamegraph/d3-flamegraph-base.html" ] \
  || fail "cmake --install did not install the flame graph template (scripts/deps fetches it)"
for model in go-net python-asyncio; do
  "$cmbench" verify --model "$model" >"$work/verify-$model.log" 2>&1 \
    || { cat "$work/verify-$model.log" >&2; fail "the installed cmbench's $model did not pass verify"; }
done

"$cmbench" --version | head -1 | grep -Eq '^cmbench [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]' \
  || fail "--version does not lead with 'cmbench VERSION (commit ...)'"
# The man page (gzipped, as Debian has them) covers every subcommand --help lists.
man_page=$(zcat "$prefix/share/man/man1/cmbench.1.gz") || fail "the man page is not gzip"
for command in $("$cmbench" --help | awk '/^Subcommands:/ {on=1; next} on && NF {print $1}'); do
  grep -qF ".SS \"cmbench ${command//-/\\-}\"" <<<"$man_page" \
    || fail "the man page has no section for '$command'"
done

# A scenario only the installed tree has: found there, not in the source tree.
cat > "$prefix/share/cmbench/scenarios/installed-only.toml" <<'TOML'
[run]
question = "does an installed cmbench find its own scenarios?"
models = ["iterative"]
connections = [1]
workload = [""]
duration = "300ms"
warmup = "0s"
TOML
mkdir "$work/cwd"
cd "$work/cwd"
"$cmbench" run installed-only --out "$work/cwd/tiny.csv" --charts "$work/cwd/charts" --no-pin \
  >"$work/run.log" 2>&1 || { cat "$work/run.log" >&2; fail "the installed cmbench could not run a sweep"; }
[ "$(wc -l < tiny.csv)" -eq 2 ] || fail "expected a header and one row in tiny.csv"
if /usr/bin/python3 -c 'import matplotlib, pandas' 2>/dev/null; then
  ls "$work/cwd/charts"/*.png >/dev/null 2>&1 || { cat "$work/run.log" >&2; fail "no charts drawn"; }
fi

# A model of one's own, built out of tree against the installed package
# (find_package(cmbench CONFIG), cmbench_add_executable), as the README says.
example="$work/example"
cmake -S "$source_dir/examples/out-of-tree-model" -B "$example" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release >"$work/example.log" 2>&1 \
  && cmake --build "$example" -j "$(nproc)" >>"$work/example.log" 2>&1 \
  || { cat "$work/example.log" >&2; fail "the out-of-tree example did not build against $prefix"; }
own="$example/cmbench-defer"
"$own" models | grep -q '^defer-accept ' || fail "its cmbench models does not list defer-accept"
"$own" models | grep -q '^epoll ' || fail "its cmbench models lost the shipped models"
"$own" verify --model defer-accept >"$work/own-verify.log" 2>&1 \
  || { cat "$work/own-verify.log" >&2; fail "cmbench verify --model defer-accept failed"; }
"$own" run --models defer-accept,epoll --connections 4 --workload sleep_us=1000 -d 300ms \
  --warmup 100ms --no-pin --out "$work/cwd/own.csv" --charts "$work/cwd/own-charts" \
  >"$work/own.log" 2>&1 || { cat "$work/own.log" >&2; fail "its cmbench could not sweep defer-accept"; }
# One measured row (no error) for each model: column by name.
own_rows=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  ($col["model"] == "defer-accept" || $col["model"] == "epoll") && $col["error"] == "" && $col["rps"] > 0' \
  "$work/cwd/own.csv" | wc -l)
[ "$own_rows" -eq 2 ] || { cat "$work/cwd/own.csv" >&2; fail "expected a measured row for each of defer-accept and epoll"; }
if /usr/bin/python3 -c 'import matplotlib, pandas' 2>/dev/null; then
  ls "$work/cwd/own-charts"/*.png >/dev/null 2>&1 || { cat "$work/own.log" >&2; fail "no charts for the example's sweep"; }
fi

# The Debian package, with dpkg-shlibdeps' dependencies and our recommends.
cpack --config "$build/CPackConfig.cmake" -G DEB -B "$work/deb" >"$work/cpack.log" 2>&1 \
  || { cat "$work/cpack.log" >&2; fail "cpack -G DEB failed"; }
deb=$(ls "$work"/deb/cmbench_*.deb)
depends=$(dpkg-deb -f "$deb" Depends)
for library in liburing libfmt libstdc++; do
  grep -q "$library" <<<"$depends" || fail "the .deb does not depend on $library: $depends"
done
grep -q python3-matplotlib <<<"$(dpkg-deb -f "$deb" Recommends)" || fail "no Recommends"
contents=$(dpkg-deb -c "$deb")
grep -q './usr/share/cmbench/scenarios/why-multithreaded.toml' <<<"$contents" \
  || fail "the .deb lacks the scenarios"
grep -q './usr/share/man/man1/cmbench.1.gz' <<<"$contents" || fail "the .deb lacks the gzipped man page"
grep -q './usr/share/doc/cmbench/copyright' <<<"$contents" || fail "the .deb lacks its copyright file"
grep -q './usr/libexec/cmbench/runtimes/go-net' <<<"$contents" || fail "the .deb lacks the Go servers"

# lintian: no error and no warning but two that wait on a decision only
# the project's owners can make: a maintainer address that mail reaches
# (bogus-mail-host, in the control file and in the changelog).
pending='bogus-mail-host|bogus-mail-host-in-debian-changelog'
command -v lintian >/dev/null 2>&1 || fail "lintian is not installed (scripts/deps installs it)"
# lintian exits 0 when it found nothing; otherwise (tags found, or it could
# not read the package) it must have said what it found.
status=0
report=$(lintian --tag-display-limit 0 "$deb" 2>"$work/lintian.err") || status=$?
tags=$(grep -E '^[EW]: ' <<<"$report" || true)
[ "$status" = 0 ] || [ -n "$tags" ] || fail "lintian failed ($status): $(cat "$work/lintian.err")"
unexpected=$(grep -Ev "^[EW]: cmbench: ($pending)( |$)" <<<"$tags" || true)
[ -z "$unexpected" ] || fail "lintian: $unexpected"
echo "install_test: installed, ran a sweep from the prefix, packaged $(basename "$deb")"
