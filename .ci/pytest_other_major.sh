#!/usr/bin/env bash
# Runs tests/compat (rubrictest's integration with pytest itself: node ids, --lf, -k, JUnit,
# xdist) under the pytest major that the dev install does not have: 8.x beside a 9.x install,
# 9.x beside an 8.x one. The venv holds that pytest only and reuses every other package of
# .venv through a .pth file, so it costs one small download and no dependency resolution.
set -euo pipefail
cd "$(dirname "$0")/.."
major=$(.venv/bin/python -c "import pytest; print(pytest.__version__.split('.')[0])")
if [ "$major" -ge 9 ]; then want='pytest>=8.0,<9'; else want='pytest>=9,<10'; fi
venv=.venv-pytest-other
python3 -m venv "$venv"
dev_site=$(.venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
own_site=$("$venv/bin/python" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
echo "import site; site.addsitedir('$dev_site')" > "$own_site/_dev_install.pth"
"$venv/bin/pip" install -q --no-deps "$want"
"$venv/bin/python" -c "import pytest; print('tests/compat under pytest', pytest.__version__)"
"$venv/bin/python" -m pytest tests/compat -q -p no:cacheprovider
