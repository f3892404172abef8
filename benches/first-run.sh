#!/usr/bin/env bash
# The README's first command, `cargo run -p octofleet-sandbox`, from a fresh clone with
# an empty target directory and the crate cache (~/.cargo/registry) as it is: issue 20's goal is
# ≤ 4 min on 2 cores with a warm cache. Prints the total and how it splits (the dependencies, the
# workspace's own crates, the demo run), the machine's load (a shared machine inflates every
# figure), and every crate cargo compiled more than once for the same platform (there should be
# none: the sandbox runs itself as octofleet instead of a second cargo build).
#
#   benches/first-run.sh [REPOSITORY] [CARGO FLAGS]  # default: this checkout's committed HEAD, the
#                                                    # dev profile (`--release` to compare)
#
# Needs git, cargo and python3 (to read cargo's --timings report). Run nothing else meanwhile.
set -euo pipefail

repository=${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}
shift || true
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repository" "$work/clone"
cd "$work/clone"
# The clone's own target/, empty: a target directory set for this shell would be warm.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR

echo "cores: $(nproc); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
started=$(date +%s.%N)
# TMPDIR: the demo's reports directory goes with the rest of this run.
TMPDIR="$work" cargo run "$@" -p octofleet-sandbox --timings >"$work/demo.log" 2>"$work/cargo.log" || {
  tail -20 "$work/cargo.log"
  exit 1
}
ended=$(date +%s.%N)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$started" "$ended" target/cargo-timings/cargo-timing.html <<'PY'
import collections, json, re, sys

started, ended, report = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
html = open(report).read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S).group(1))
total_build = float(re.search(r"<td>Total time:</td><td>([\d.]+)s", html).group(1))
workspace = {"octofleet", "octopus-emulator", "forge-emulator", "octofleet-sandbox"}
own = [u for u in units if u["name"] in workspace]
deps = [u for u in units if u["name"] not in workspace]
deps_done = max(u["start"] + u["duration"] for u in deps)
own_start = min(u["start"] for u in own)
total = ended - started
print(f"total {total:.0f} s ({total / 60:.1f} min): build {total_build:.0f} s, demo and cargo's start {total - total_build:.0f} s")
print(f"  dependencies: {len(deps)} units, the last done at {deps_done:.0f} s")
def unit(u):
    return "%s%s %.0f s" % (u["name"], u["target"] or " lib", u["duration"])
print(f"  workspace crates: from {own_start:.0f} s to {total_build:.0f} s ("
      + ", ".join(unit(u) for u in own) + ")")
slowest = sorted(units, key=lambda u: -u["duration"])[:5]
print("  slowest units: " + ", ".join(unit(u) for u in slowest))
# Cargo's report does not say host or target: a crate that is both a build-time dependency (of a
# build script or proc-macro, compiled for the host) and a run-time one is built once for each,
# which is expected and small. A workspace crate twice, or the `octofleet` binary at all, would be
# the second build this command must not do.
seen = collections.defaultdict(list)
for u in units:
    seen[(u["name"], u["version"], u["target"], u["mode"])].append(u)
twice = sorted("%s %s%s" % (name, version, target) for (name, version, target, mode), group
               in seen.items() if len(group) > 1 and mode != "run-custom-build")
own_twice = [u for u in own if len(seen[(u["name"], u["version"], u["target"], u["mode"])]) > 1]
octofleet_bin = [u for u in own if u["name"] == "octofleet" and "bin" in u["target"]]
print("  workspace crates compiled once each, no octofleet binary: "
      + ("yes" if not own_twice and not octofleet_bin else "NO"))
print("  built for both host and target: " + (", ".join(twice) or "none"))
PY
