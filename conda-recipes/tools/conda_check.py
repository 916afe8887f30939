#!/usr/bin/env python3
"""Offline checks of the conda recipes (run by ci/checks/68-conda.sh, inside a network namespace
with only loopback, so anything that tried to reach a channel on the network would fail).

  conda_check.py render-source            renders conda-recipes/selkies-gstreamer and prints the
                                          rendered test commands, one per line (the source recipe
                                          needs conda-forge to build, so it is only rendered here)
  conda_check.py build-portable CHANNEL   builds conda-recipes/selkies-gstreamer-portable into the
                                          local channel CHANNEL and runs the recipe's own tests
                                          (SELKIES_BUNDLE_TARBALL, SELKIES_VERSION from the caller)
  conda_check.py create-env CHANNEL PREFIX  solves selkies-gstreamer-portable from CHANNEL alone
                                          and installs it into the fresh environment PREFIX
"""

import asyncio
import os
import sys
from pathlib import Path

from rattler_build import Stage0Recipe, ToolConfiguration, VariantConfig

RECIPES = Path(__file__).resolve().parent.parent


def fail(msg: str) -> None:
    print(f"conda_check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def source_variants() -> VariantConfig:
    return VariantConfig.from_file(RECIPES / "selkies-gstreamer" / "variants.yaml")


def rendered_tests(recipe: Stage0Recipe) -> list[str]:
    """The script lines of every `script` test of the first rendered variant."""
    variants = recipe.render(source_variants())
    if not variants:
        fail("recipe rendered to no variant")
    stage1 = variants[0].recipe.to_dict()
    lines: list[str] = []
    for test in stage1.get("tests", []):
        script = test.get("script")
        if not script:
            continue
        content = script.get("content", script) if isinstance(script, dict) else script
        lines.extend([content] if isinstance(content, str) else content)
    return lines


def render_source() -> None:
    recipe = Stage0Recipe.from_file(str(RECIPES / "selkies-gstreamer" / "recipe.yaml"))
    variants = recipe.render(source_variants())
    pkg = variants[0].recipe.package
    print(f"# rendered {pkg.name} {pkg.version} ({len(variants)} variant(s))", file=sys.stderr)
    stage1 = variants[0].recipe.to_dict()
    reqs = stage1.get("requirements", {})
    for kind in ("build", "host", "run"):
        print(f"#   {kind}: {', '.join(map(str, reqs.get(kind, [])))}", file=sys.stderr)
    for line in rendered_tests(recipe):
        print(line)


def build_portable(channel: str) -> None:
    recipe = Stage0Recipe.from_file(str(RECIPES / "selkies-gstreamer-portable" / "recipe.yaml"))
    Path(channel).mkdir(parents=True, exist_ok=True)
    # Only the local channel: the package has no dependencies, and nothing else is reachable.
    results = recipe.run_build(
        output_dir=channel,
        channels=[channel],
        tool_config=ToolConfiguration(test_strategy="native"),
    )
    for r in results:
        print(f"conda_check: built {r}")
    if not results:
        fail("rattler-build produced no package")


async def create_env(channel: str, prefix: str) -> None:
    import rattler

    if Path(prefix).exists():
        fail(f"{prefix} exists; the environment must be fresh")
    # A file:// channel and no other: the solve cannot fall back on a remote one.
    records = await rattler.solve(
        sources=[rattler.Channel(Path(channel).resolve().as_uri())],
        specs=["selkies-gstreamer-portable"],
        platforms=["linux-64", "noarch"],
    )
    names = sorted(r.name.normalized for r in records)
    print(f"conda_check: solved {names}")
    if names != ["selkies-gstreamer-portable"]:
        fail(f"expected the package alone (no dependencies), got {names}")
    cache = Path(channel).parent / "pkgs"
    await rattler.install(records, target_prefix=prefix, cache_dir=cache, show_progress=False)
    print(f"conda_check: installed into {prefix}")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["render-source"] and len(args) == 1:
        render_source()
    elif args[:1] == ["build-portable"] and len(args) == 2:
        if not os.environ.get("SELKIES_BUNDLE_TARBALL"):
            fail("SELKIES_BUNDLE_TARBALL is not set")
        build_portable(args[1])
    elif args[:1] == ["create-env"] and len(args) == 3:
        asyncio.run(create_env(args[1], args[2]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
