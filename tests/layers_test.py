"""The package reads top to bottom: each layer imports only the layers below it, and no modules
import each other in a cycle."""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / 'midi_rnn_jax'
# Lowest first. A module of a layer may import its own layer and the ones below.
LAYERS = (
    {'errors', 'files', 'console', 'stop_early'},
    {'data'},
    {'model'},
    {'generate', 'evaluation'},
    {'cli', 'experiment', 'train_logs', 'train_loop', 'sample_messages'},
    {'train', 'sample', 'evaluate', 'report', 'export', 'bench', 'bench_ingest',
     'bench_time_to_loss', 'corpus'},
)
# Beside each other in one layer, but neither imports the other.
APART = {'generate': 'evaluation', 'evaluation': 'generate'}


def module_name(path: pathlib.Path) -> str:
  return '.'.join(path.relative_to(PACKAGE).with_suffix('').parts)


def modules() -> dict[str, pathlib.Path]:
  return {module_name(p): p for p in PACKAGE.rglob('*.py') if p.name != '__init__.py'}


def imports_of(path: pathlib.Path) -> set[str]:
  """The package's modules that ``path`` imports, anywhere in it (inside functions too)."""
  found = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith('midi_rnn_jax'):
      base = node.module.removeprefix('midi_rnn_jax').lstrip('.')
      for alias in node.names:
        name = f'{base}.{alias.name}' if base else alias.name
        found.add(name if name in modules() else base)
    elif isinstance(node, ast.Import):
      found |= {a.name.removeprefix('midi_rnn_jax.') for a in node.names
                if a.name.startswith('midi_rnn_jax.')}
  return found


def layer_of(module: str) -> int | None:
  top = module.split('.')[0]
  return next((i for i, layer in enumerate(LAYERS) if top in layer), None)


def test_every_module_has_a_layer():
  assert [m for m in modules() if layer_of(m) is None] == []


@pytest.mark.parametrize('module', sorted(modules()))
def test_a_module_imports_only_its_layer_and_the_ones_below(module):
  top = module.split('.')[0]
  for imported in imports_of(modules()[module]):
    assert layer_of(imported) <= layer_of(module), f'{module} imports {imported}, a layer above'
    assert imported.split('.')[0] != APART.get(top), f'{module} imports {imported}'


def test_no_import_cycle():
  graph = {m: {i for i in imports_of(p) if i in modules()} for m, p in modules().items()}
  done, path = set(), []

  def visit(module):
    if module in path:
      raise AssertionError('import cycle: ' + ' -> '.join(path[path.index(module):] + [module]))
    if module not in done:
      path.append(module)
      for imported in sorted(graph[module]):
        visit(imported)
      path.pop()
      done.add(module)

  for module in sorted(graph):
    visit(module)
