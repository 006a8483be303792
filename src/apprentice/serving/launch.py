"""Launch the router for a run's registry, or write the equivalent `vllm serve` command.

The base served is the one the production adapters were trained on: the run's pretrained model
when pretraining ran, else its base (the embedded one, or the user's through `base/POINTER`),
told apart by the base hash every adapter records. Loopback by default; any other address needs
an API key, since the router would otherwise answer anyone who can reach the port.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from apprentice.artifacts import RunDir, hash_path
from apprentice.errors import ServingError
from apprentice.serving.vllm import vllm_command


def serve(run_dir: Path, registry_path: Path | None = None, host: str = "127.0.0.1", port: int = 8000,
          api_key: str | None = None, capture: bool = True, capture_path: Path | None = None) -> None:
    """Serve the run's production adapters over HTTP until interrupted (blocks).

    With `capture` (the default), every completion is appended to `capture_path`, by default the
    run's flywheel log RUN/flywheel/interactions.jsonl (`apprentice flywheel curate` reads it).
    """
    import uvicorn

    from apprentice.flywheel.capture import InteractionLog, interactions_path
    from apprentice.serving.router import create_app

    check_exposure(host, api_key)
    registry = open_serving_registry(run_dir, registry_path)
    base_dir, base_hash = run_base(Path(run_dir), production_base_hash(registry))
    log = InteractionLog(capture_path or interactions_path(Path(run_dir))) if capture else None
    app = create_app(registry, base_dir, api_key=api_key, base_hash=base_hash, capture=log)
    uvicorn.run(app, host=host, port=port, log_level="info")


def export_vllm(run_dir: Path, registry_path: Path | None = None) -> str:
    """The `vllm serve` command line for the run's production adapters on the base they were trained on."""
    registry = open_serving_registry(run_dir, registry_path)
    base_dir, _ = run_base(Path(run_dir), production_base_hash(registry))
    adapters = {target: Path(record.path) for target, record in registry.production().items()}
    return vllm_command(base_dir, adapters)


def check_exposure(host: str, api_key: str | None) -> None:
    """ServingError when `host` is not a loopback address and no API key is set."""
    if api_key or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False  # a host name other than localhost may resolve to any interface
    if not loopback:
        raise ServingError(f"refusing to serve on {host} without an API key; add --api-key KEY "
                           "(clients then send 'Authorization: Bearer KEY'), or serve on 127.0.0.1")


def run_base(run_dir: Path, base_hash: str) -> tuple[Path, str]:
    """(the run's base directory whose content hash is `base_hash`, that hash)."""
    run = RunDir(run_dir)
    candidates = [run.pretrained_model, run.pointed_base()]
    existing = [path for path in candidates if path is not None and (path / "config.json").is_file()]
    for path in existing:
        if hash_path(path) == base_hash:
            return path, base_hash
    shown = ", ".join(str(path) for path in existing) or "none"
    raise ServingError(f"no base in run '{run_dir}' has hash {base_hash[:19]}... that the production adapters were "
                       f"trained on (bases found: {shown}); serve the run that trained them")


def open_serving_registry(run_dir: Path, registry_path: Path | None):
    """The registry at `registry_path`, else the run's `registry.db`; ServingError when the file is missing."""
    from apprentice.registry.registry import Registry

    path = Path(registry_path) if registry_path is not None else RunDir(run_dir).registry_path
    if not path.is_file():
        raise ServingError(f"no registry at '{path}'; run the pipeline first, or pass --registry PATH")
    return Registry(path)


def production_base_hash(registry) -> str:
    """The one base hash every production adapter of `registry` was trained on; ServingError otherwise."""
    hashes = {record.base_hash for record in registry.production().values()}
    if not hashes:
        raise ServingError(f"registry '{registry.path}' has no production adapter; promote one first "
                           "(apprentice registry promote <version>)")
    if len(hashes) > 1:
        raise ServingError(f"the production adapters of '{registry.path}' were trained on {len(hashes)} different "
                           "bases; one router serves one base: promote versions of the same base")
    return hashes.pop()
