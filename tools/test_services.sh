#!/usr/bin/env bash
# What `make test` needs besides .venv: a one-node Slurm (Debian's slurm-wlm and munge: tests/test_slurm.py) and a
# headless browser (Debian's chromium: the HTML report's test). Installed with apt-get where missing and this runs as
# root; otherwise it names what is missing and how to install it (the tests that need it then fail and say so too).
set -euo pipefail
missing=()
command -v sbatch >/dev/null && [ -x /usr/sbin/slurmctld ] || missing+=(slurm-wlm)
[ -x /usr/sbin/munged ] || missing+=(munge)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "==> [test] installing ${missing[*]} (Debian packages the tests need)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "warning: ${missing[*]} missing and not installable here (not root, or no apt-get): the Slurm and browser" \
         "tests will fail. Install them: sudo apt-get install ${missing[*]}" >&2
fi
