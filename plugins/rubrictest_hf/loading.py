"""Loading a causal LM once per process, and releasing it.

The engine builds one component per distinct spec for the whole pytest session, and a judge
and a target naming the same model share one copy: models live in a process-wide table keyed
by (location, device, device_map, dtype, attention) with a reference count. A component
*acquires* its model on its first batch and *releases* it in ``aclose``; the last release
frees the weights (and the CUDA cache).

Under pytest-xdist every worker is a separate process and would load its own copy: that is
refused with a clear :class:`rubrictest.ConfigError` unless ``options.allow_xdist`` is true.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rubrictest import ConfigError

from .options import HFOptions

LOAD_COUNT = 0
"""How many times a model was loaded from disk in this process (tests and benchmarks read it)."""

_lock = threading.Lock()
_loaded: dict[tuple[str, ...], LoadedModel] = {}


@dataclass
class LoadedModel:
    """A model and its tokenizer, shared by every component that names them.

    Attributes:
        model: the ``transformers`` causal LM, in eval mode.
        tokenizer: its tokenizer.
        device: where inputs go (the device of the input embeddings).
        location: the local path or hub id it was loaded from.
        max_length: the model's context length (``max_position_embeddings``), if known.
        refs: components holding it.
    """

    model: Any
    tokenizer: Any
    device: Any
    location: str
    max_length: int | None
    key: tuple[str, ...]
    refs: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    """Held while the model computes: a judge and a target sharing it take turns."""

    @property
    def pad_id(self) -> int:
        """The id used for padding (masked out): the pad token, else EOS, else 0."""
        tok = self.tokenizer
        for value in (tok.pad_token_id, tok.eos_token_id):
            if isinstance(value, int):
                return value
        return 0


def xdist_worker() -> str | None:
    """The pytest-xdist worker id (``gw0``...) of this process, or ``None``."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def resolve_location(model: str | None, base_dir: Path, *, what: str) -> str:
    """Turn a spec's ``model`` into a local directory or a hub id.

    A value that names an existing directory (relative to the suite's directory, or absolute)
    is a local model. A value that looks like a path (absolute, starting with ``.`` or ``~``)
    but does not exist is an error; anything else (``org/name``) is a hub id.

    Raises:
        ConfigError: no model given, or a path that does not exist.
    """
    if not model:
        raise ConfigError(f"{what}: give the model as `hf:PATH` or `model: PATH` (a local directory or a hub id)")
    expanded = Path(model).expanduser()
    candidate = expanded if expanded.is_absolute() else base_dir / expanded
    if candidate.is_dir():
        return str(candidate.resolve())
    if candidate.exists():
        raise ConfigError(f"{what}: model path {candidate} is a file; give the model's directory")
    looks_like_path = model.startswith((".", "~")) or model.count("/") > 1 or (os.sep != "/" and os.sep in model)
    if expanded.is_absolute() or looks_like_path:
        raise ConfigError(f"{what}: model path not found: {candidate}")
    return model


def fingerprint(location: str) -> str:
    """A short digest of a local model's weight and config files (names, sizes, mtimes).

    Part of the judge's cache identity, so replacing the weights in place invalidates
    cached verdicts. Hub ids return ``""`` (their revision is the hub's business).
    """
    path = Path(location)
    if not path.is_dir():
        return ""
    digest = hashlib.sha256()
    for file in sorted(path.iterdir()):
        if file.is_file() and file.suffix in (".safetensors", ".bin", ".json", ".model", ".txt"):
            stat = file.stat()
            digest.update(f"{file.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def resolve_device(options: HFOptions, *, what: str) -> tuple[str, Any]:
    """The device string and torch dtype to load with.

    Raises:
        ConfigError: CUDA asked for but not available, or an unknown device.
    """
    import torch

    device = options.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(
            f"{what}: options.device is {options.device!r} but CUDA is not available "
            f"(torch {torch.__version__}, a CPU build?); use device: cpu or auto"
        )
    if device.startswith("mps") and not torch.backends.mps.is_available():
        raise ConfigError(f"{what}: options.device is {device!r} but MPS is not available")
    try:
        torch.device(device)
    except RuntimeError as exc:
        raise ConfigError(f"{what}: invalid options.device {device!r}: {exc}") from None
    on_gpu = device.startswith("cuda") or options.device_map is not None and torch.cuda.is_available()
    if options.dtype == "auto":
        dtype = torch.bfloat16 if on_gpu else torch.float32
    else:
        dtype = getattr(torch, options.dtype)
    return device, dtype


def preflight(model: str | None, options: HFOptions, base_dir: Path, *, what: str) -> tuple[str, str, Any]:
    """Everything :func:`acquire` checks before reading weights.

    Returns:
        ``(location, device, dtype)``.

    Raises:
        ConfigError: under pytest-xdist without ``allow_xdist`` (checked before torch is
            imported); torch or transformers missing; a missing path; CUDA absent.
    """
    worker = xdist_worker()
    if worker and not options.allow_xdist:
        raise ConfigError(
            f"{what}: this is pytest-xdist worker {worker}; each worker would load its own copy of "
            f"{model!r}. Run local models with `-n 0`, or serve the model (`vllm serve`) and use the "
            "openai judge with base_url, or set options.allow_xdist: true to accept one copy per worker."
        )
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        raise ConfigError(f"{what} needs torch and transformers: pip install 'rubrictest[local]'") from None
    location = resolve_location(model, base_dir, what=what)
    device, dtype = resolve_device(options, what=what)
    return location, device, dtype


def _key(location: str, device: str, dtype: Any, options: HFOptions) -> tuple[str, ...]:
    return (location, device, repr(options.device_map), str(dtype), str(options.attn_implementation))


def tokenizer_for(model: str | None, options: HFOptions, base_dir: Path, *, what: str) -> Any:
    """The tokenizer of ``model`` without loading its weights (that of a loaded copy if any).

    Raises:
        ConfigError: as :func:`preflight`, or the tokenizer cannot be loaded.
    """
    location, device, dtype = preflight(model, options, base_dir, what=what)
    with _lock:
        loaded = _loaded.get(_key(location, device, dtype, options))
    if loaded is not None:
        return loaded.tokenizer
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(location, local_files_only=options.local_files_only)
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError...
        raise ConfigError(f"{what}: cannot load the tokenizer of {location!r}: {type(exc).__name__}: {exc}") from None


def acquire(model: str | None, options: HFOptions, base_dir: Path, *, what: str) -> LoadedModel:
    """Load the model (or reuse the copy this process already holds) and take a reference.

    Raises:
        ConfigError: as :func:`preflight`, or the model or tokenizer cannot be loaded.
    """
    location, device, dtype = preflight(model, options, base_dir, what=what)
    key = _key(location, device, dtype, options)
    with _lock:
        loaded = _loaded.get(key)
        if loaded is None:
            loaded = _load(location, device, dtype, options, key, what=what)
            _loaded[key] = loaded
        loaded.refs += 1
        return loaded


def release(loaded: LoadedModel) -> None:
    """Drop a reference; the last one frees the model and empties the CUDA cache."""
    with _lock:
        loaded.refs -= 1
        if loaded.refs > 0 or _loaded.get(loaded.key) is not loaded:
            return
        del _loaded[loaded.key]
        loaded.model = None
    if getattr(loaded.device, "type", "cpu") == "cuda":
        # Reference cycles inside transformers modules would keep GPU memory until the next
        # collection; on the CPU they are left to the collector (a full pass costs ~1 s).
        import gc

        import torch

        gc.collect()
        torch.cuda.empty_cache()


def loaded_models() -> list[str]:
    """Locations of the models this process holds now."""
    with _lock:
        return [m.location for m in _loaded.values()]


def _load(
    location: str, device: str, dtype: Any, options: HFOptions, key: tuple[str, ...], *, what: str
) -> LoadedModel:
    global LOAD_COUNT
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"dtype": dtype, "local_files_only": options.local_files_only}
    if options.device_map is not None:
        kwargs["device_map"] = options.device_map
    if options.attn_implementation:
        kwargs["attn_implementation"] = options.attn_implementation
    try:
        tokenizer = AutoTokenizer.from_pretrained(location, local_files_only=options.local_files_only)
        model = AutoModelForCausalLM.from_pretrained(location, **kwargs)
    except Exception as exc:  # transformers raises OSError, ValueError, KeyError, RuntimeError...
        raise ConfigError(f"{what}: cannot load {location!r}: {type(exc).__name__}: {exc}") from None
    if options.device_map is None:
        model.to(device)  # type: ignore[arg-type]
    model.eval()  # type: ignore[no-untyped-call]
    LOAD_COUNT += 1
    embeddings = model.get_input_embeddings()
    max_length = getattr(model.config, "max_position_embeddings", None)
    return LoadedModel(
        model=model,
        tokenizer=tokenizer,
        device=embeddings.weight.device,
        location=location,
        max_length=max_length if isinstance(max_length, int) else None,
        key=key,
    )
