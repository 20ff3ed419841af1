# Sourced by run_train.sh, run_sample.sh and .ci/run: make or reuse the virtual
# environment $VENV (default .venv) with requirements.txt installed, and put it first on PATH.
# Re-installs only when requirements.txt changed since the last install.
VENV=${VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! cmp -s requirements.txt "$VENV/.installed-requirements.txt"; then
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt "$VENV/.installed-requirements.txt"
fi
export PATH="$(cd "$VENV" && pwd)/bin:$PATH"

# ensure_corpus_extra: install the optional corpus extra (music21, pinned in pyproject.toml).
ensure_corpus_extra() {
  python -c 'import music21' 2>/dev/null ||
    python -m pip install --quiet --disable-pip-version-check -e '.[corpus]'
}
