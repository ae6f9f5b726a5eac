"""The command line: parse, validate everything before any work, run, report.

Bad input (an unknown name, an impossible setting, a data folder without the files, an output
path that cannot be written) is answered with one clear message and exit code 2, and nothing is
written. Exit codes: 0 all jobs ok, 1 some job failed, 2 bad input, 130 interrupted (Ctrl-C, or
SIGTERM as a cluster scheduler sends it: both end the same way, finished jobs kept).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import Any, Sequence

from .jobs import python_command
from .protocol import SELECTION_POLICIES, ProtocolError
from .scales import IMAGE_SUITES, SCALES, apply_scale, get_scale
from .suites import SUITES, build_experiments, build_jobs, get_suite, with_overrides

EXIT_OK, EXIT_FAILED_JOBS, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(Exception):
    """Bad input from the user: printed as is, exit code 2."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same exception as Ctrl-C so that both take one exit path."""


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """While the run works, SIGTERM raises :class:`Terminated` in the main thread (as SIGINT does)."""
    def handler(signum, frame):
        raise Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread (e.g. called from a library): leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _csv_list(kind):
    def parse(text: str) -> list:
        try:
            return [kind(part) for part in text.replace(",", " ").split()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {kind.__name__} values, got {text!r}") from None
    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="run_benchmark.py",
        description="Anomaly detection with incomplete anomalous knowledge: run a suite, resume it, rebuild its reports.",
    )
    p.add_argument("--suite", default="smoke", help="suite to run (default: smoke); see --list-suites")
    p.add_argument("--detectors", type=_csv_list(str), help="comma-separated detector names (default: the suite's)")
    p.add_argument("--datasets", type=_csv_list(str), help="comma-separated dataset names (default: the suite's)")
    p.add_argument("--normal-classes", type=_csv_list(int), help="normal classes of the image sets (default: all)")
    p.add_argument("--known-classes", type=_csv_list(int), help="restrict the known anomaly classes (k_l = 1 anchors)")
    p.add_argument("--gamma-l", type=_csv_list(float), help="labelled-anomaly ratios γl, e.g. 0,0.05")
    p.add_argument("--gamma-p", type=_csv_list(float), help="pollution ratios γp")
    p.add_argument("--k-l", type=_csv_list(int), help="numbers of known anomaly classes")
    p.add_argument("--seeds", type=int, help="repetitions per experiment")
    p.add_argument("--seed-offset", type=int, default=0, help="first repetition index (to rerun one repetition)")
    p.add_argument("--selection", choices=SELECTION_POLICIES, help="model-selection policy (default: the suite's)")
    p.add_argument("--scale", choices=tuple(SCALES), default="paper",
                   help=f"size of the image suites ({', '.join(IMAGE_SUITES)}): paper (default, the protocol's full "
                        "size, for a GPU) or cpu (10 fixed class pairs, 1,000 training normals, 4,000 test images, "
                        "short training; see benchmark/scales.py); every row and report names it")
    p.add_argument("--max-train-normals", type=int, help="subsample the training normals (changes the experiment)")
    p.add_argument("--max-test", type=int, help="subsample the test set (changes the experiment)")
    p.add_argument("--param", action="append", default=[], metavar="DETECTOR.NAME=VALUE",
                   help="set a detector parameter, e.g. deep-sad.epochs=20 (repeatable; VALUE is JSON or a string)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import a module or .py file that registers your own detectors (repeatable)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:I (default: auto)")
    p.add_argument("--jobs", type=int, default=1, help="parallel jobs (default 1: in-process)")
    p.add_argument("--batch-experiments", type=int, default=1, metavar="K",
                   help="train up to K pending jobs of one cell (same detector, parameters, dataset, γ's, selection) "
                        "as one model, for detectors that support it (Deep SAD, AA-BiGAN); every job keeps its own row "
                        "(default 1: one by one; on CPU only tabular cells are stacked, see docs)")
    p.add_argument("--workers-per-gpu", type=int, metavar="N",
                   help="run N jobs (or groups) at a time on each visible GPU (instead of --jobs)")
    p.add_argument("--backend", choices=("loky", "dask"), default="loky", help="joblib backend for --jobs")
    p.add_argument("--scheduler", help="Dask scheduler address for --backend dask, e.g. tcp://HOST:8786")
    p.add_argument("--out", type=Path, help="output folder (default: results/<suite>, results/<suite>-<scale> at a scale other than paper)")
    p.add_argument("--data-dir", help="data folder (default: $BENCH_DATA_DIR, else ~/.cache/aabench/data)")
    p.add_argument("--dry-run", action="store_true", help="list the jobs and what they will cost; run nothing")
    p.add_argument("--report-only", action="store_true", help="rebuild the reports of --out from its runs CSV")
    p.add_argument("--merge", type=_csv_list(Path), metavar="DIR,DIR,...",
                   help="with --report-only: first build --out's runs CSV from these output folders' rows (the last "
                        "row of each job wins, in the order given; --detectors keeps only those), e.g. runs made one "
                        "detector or one policy at a time; --out must be a new folder or an earlier merge")
    p.add_argument("--list-suites", action="store_true", help="list the suites and exit")
    p.add_argument("--list-detectors", action="store_true", help="list the registered detectors and exit")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    return p


def parse_params(items: Sequence[str], valid_detectors: Sequence[str]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        head, sep, value = item.partition("=")
        detector, dot, name = head.partition(".")
        if not sep or not dot or not name:
            raise UsageError(f"--param {item!r}: expected DETECTOR.NAME=VALUE, e.g. deep-sad.epochs=20")
        if detector not in valid_detectors:
            raise UsageError(f"--param {item!r}: unknown detector {detector!r}; registered: {', '.join(valid_detectors)}")
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            parsed = value
        out.setdefault(detector, {})[name] = parsed
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _sigterm_as_interrupt():
            return _main(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:  # before the run started (checks, data loading): nothing written
        print(f"\ninterrupted{_by(exc)} before any job started; nothing was written.", file=sys.stderr)
        return EXIT_INTERRUPTED


def _by(exc: BaseException) -> str:
    return " (SIGTERM)" if isinstance(exc, Terminated) else ""


def _main(args: argparse.Namespace) -> int:
    from datasets import DATASETS, DataError, find_missing, load_dataset
    from detectors import DuplicateNameError, available_detectors, get_detector_class, import_errors, load_plugin, \
        make_detector

    from .store import OutputDirError, ResultsStore, check_output_dir

    for plugin in args.plugin:
        try:
            load_plugin(plugin)
        except DuplicateNameError as exc:
            raise UsageError(f"--plugin {plugin}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any import problem of a user's module is bad input
            raise UsageError(f"--plugin {plugin}: could not import it: {type(exc).__name__}: {exc}") from None
    registered = available_detectors()
    if args.list_suites:
        for suite in SUITES.values():
            print(f"{suite.name:10s} {suite.description}")
        for scale in SCALES.values():
            print(f"--scale {scale.name}: {scale.description}")
        return EXIT_OK
    if args.list_detectors:
        for name in registered:
            cls = get_detector_class(name)
            doc = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
            print(f"{name:16s} {cls.__module__}.{cls.__name__}  {doc}")
        for module, reason in import_errors().items():
            if "No module named 'detectors." not in reason:
                print(f"(not available: {module}: {reason})")
        return EXIT_OK

    try:
        suite = apply_scale(get_suite(args.suite), get_scale(args.scale))
    except KeyError as exc:
        raise UsageError(exc.args[0]) from None
    except ValueError as exc:
        raise UsageError(f"--scale {args.scale}: {exc}") from None
    out_dir = args.out or Path("results") / (suite.name if suite.scale == "paper" else f"{suite.name}-{suite.scale}")
    try:
        check_output_dir(out_dir)
    except OutputDirError as exc:
        raise UsageError(str(exc)) from None

    if args.merge and not args.report_only:
        raise UsageError("--merge goes with --report-only (it builds reports from stored rows; it runs nothing)")
    if args.report_only:
        if args.merge:
            from .store import merge_runs

            try:
                merged = merge_runs(args.merge, out_dir, args.detectors)
            except OutputDirError as exc:
                raise UsageError(str(exc)) from None
            print(f"merged {len(merged)} jobs from {len(args.merge)} folders into {out_dir / 'runs.csv'}")
        elif args.detectors:
            raise UsageError("--detectors with --report-only needs --merge (reports cover every row of --out)")
        return _report(ResultsStore(out_dir), expected=None, print_table=True)

    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1; got {args.jobs}")
    if args.batch_experiments < 1:
        raise UsageError(f"--batch-experiments must be at least 1; got {args.batch_experiments}")
    if args.workers_per_gpu is not None:
        _check_workers_per_gpu(args)
    if args.seeds is not None and args.seeds < 1:
        raise UsageError(f"--seeds must be at least 1; got {args.seeds}")
    for name in ("max_train_normals", "max_test"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1; got {value}")
    from detectors.params import DeviceSpec

    if not DeviceSpec().accepts(args.device):
        raise UsageError(f"--device must be {DeviceSpec()}; got {args.device!r}")

    # Detectors: named ones must exist; a suite's missing ones are reported and skipped.
    if args.detectors:
        unknown = [d for d in args.detectors if d not in registered]
        if unknown:
            raise UsageError(f"unknown detector(s) {', '.join(unknown)}; registered: {', '.join(registered)}")
        detectors = list(dict.fromkeys(args.detectors))
    elif suite.detectors is None:
        detectors = registered
    else:
        detectors = [d for d in suite.detectors if d in registered]
        missing = [d for d in suite.detectors if d not in registered]
        if missing:
            print(f"note: suite {suite.name!r} lists detectors not available here, skipped: {', '.join(missing)}", file=sys.stderr)
    if not detectors:
        raise UsageError("no detector to run")
    extra_params = parse_params(args.param, registered)

    # Datasets and the grid.
    names = args.datasets or list(suite.datasets)
    unknown = [d for d in names if d not in DATASETS]
    if unknown:
        raise UsageError(f"unknown dataset(s) {', '.join(unknown)}; available: {', '.join(DATASETS)}")
    for gamma_name in ("gamma_l", "gamma_p"):
        for value in getattr(args, gamma_name) or []:
            if not 0.0 <= value < 1.0:
                raise UsageError(f"--{gamma_name.replace('_', '-')} values must lie in [0, 1); got {value}")
    suite = with_overrides(suite, datasets=tuple(names), gamma_l=_tuple(args.gamma_l), gamma_p=_tuple(args.gamma_p),
                           k_l=_tuple(args.k_l), normal_classes=_tuple(args.normal_classes), seeds=args.seeds,
                           selection=args.selection, max_train_normals=args.max_train_normals, max_test=args.max_test)
    classes_of = {}
    for name in suite.datasets:
        info = DATASETS[name]
        if info.kind == "image":
            classes_of[name] = tuple(range(info.n_classes))
            bad = [c for c in (suite.normal_classes or ()) if c not in classes_of[name]]
            bad += [c for c in (args.known_classes or ()) if c not in classes_of[name]]
            if bad:
                raise UsageError(f"class(es) {bad} do not exist in {name} (classes 0..{info.n_classes - 1})")
            too_many = [k for k in suite.k_l if k > info.n_classes - 1]
            if too_many:
                raise UsageError(f"k_l = {too_many[0]} exceeds the {info.n_classes - 1} anomaly classes of {name}")
    try:
        experiments = build_experiments(suite, classes_of, tuple(args.known_classes) if args.known_classes else None,
                                        seed_offset=args.seed_offset)
    except ProtocolError as exc:
        raise UsageError(str(exc)) from None
    if not experiments:
        raise UsageError("the chosen settings give no experiment (check --known-classes against --normal-classes)")
    try:
        rerun_options = ["--out", str(out_dir)] + [x for plugin in args.plugin for x in ("--plugin", plugin)]
        if args.data_dir:
            rerun_options += ["--data-dir", args.data_dir]
        jobs = build_jobs(suite, experiments, detectors, extra_params, tuple(rerun_options))
    except (ProtocolError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    for job in {job.detector: job for job in jobs}.values():  # bad names and values fail here, not in every job
        try:
            detector = make_detector(job.detector, **job.params)
            if hasattr(detector, "check_params"):  # every SemiSupervisedDetector has it
                detector.check_params()
        except (TypeError, ValueError) as exc:
            given = " ".join(f"--param {job.detector}.{k}={json.dumps(v)}"
                             for k, v in extra_params.get(job.detector, {}).items())
            raise UsageError(f"{job.detector}: {exc}" + (f" (from {given})" if given else "")) from None

    store = ResultsStore(out_dir)
    if args.dry_run:
        from .plan import describe_plan
        from .timings import load_perf_timings

        print(describe_plan(jobs, store, args.device, perf=load_perf_timings(args.device),
                            batch_experiments=args.batch_experiments))
        return _check_data_for_dry_run(suite.datasets, args.data_dir, find_missing)

    for name in suite.datasets:  # every data file checked before anything is written
        try:
            load_dataset(name, args.data_dir)
        except DataError as exc:
            raise UsageError(str(exc) + _without_dataset_hint(name, suite.datasets)) from None

    from .runner import run_jobs

    try:
        store.acquire()
    except OutputDirError as exc:
        raise UsageError(str(exc)) from None
    try:
        _write_plan(store, jobs)
        if not suite.paper_settings:
            print(f"note: suite {suite.name!r} uses reduced settings; its numbers are not comparable with the paper's",
                  file=sys.stderr)
        summary = run_jobs(jobs, store, data_dir=args.data_dir, device=args.device, n_jobs=args.jobs,
                           backend=args.backend, scheduler=args.scheduler, progress=not args.no_progress,
                           batch_experiments=args.batch_experiments, workers_per_gpu=args.workers_per_gpu,
                           plugins=tuple(str(Path(p).resolve()) if p.endswith(".py") else p for p in args.plugin))
        print(f"{summary.planned} jobs: {summary.skipped} already stored, {summary.ok} ok, "
              f"{summary.failed} failed, {summary.not_applicable} n.a.; rows in {store.path}")
        try:
            _report(store, expected=_expected(jobs), print_table=True)
        except Exception as exc:  # noqa: BLE001 - the rows are stored; a report bug must not hide that
            print(f"warning: the reports could not be written ({type(exc).__name__}: {exc}); the rows are safe in "
                  f"{store.path}; rebuild with: {python_command()} run_benchmark.py --report-only --out {out_dir}",
                  file=sys.stderr)
        return EXIT_FAILED_JOBS if summary.failed else EXIT_OK
    except KeyboardInterrupt as exc:
        done = len(store.resume(jobs).done)
        print(f"\ninterrupted{_by(exc)}: {done} of {len(jobs)} jobs are stored in {store.path}; "
              "run the same command again to resume.", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        store.release()


def _check_workers_per_gpu(args: argparse.Namespace) -> None:
    """--workers-per-gpu: at least 1, not together with --jobs, and only where a GPU is visible."""
    from .devices import visible_gpus

    if args.workers_per_gpu < 1:
        raise UsageError(f"--workers-per-gpu must be at least 1; got {args.workers_per_gpu}")
    if args.jobs != 1:
        raise UsageError("--workers-per-gpu sets the number of parallel jobs itself; leave out --jobs")
    if args.device == "cpu" or visible_gpus() == 0:
        raise UsageError(f"--workers-per-gpu needs a CUDA GPU, but {'--device is cpu' if args.device == 'cpu' else 'torch sees none here'}; "
                         "use --jobs N for parallel CPU jobs")


def _without_dataset_hint(name: str, datasets: Sequence[str]) -> str:
    """How to run the suite without a missing dataset (for CIFAR-10: on its JPEG copy, or without it)."""
    others = [d for d in datasets if d != name]
    lines = []
    if name == "cifar10":
        jpeg = ",".join(others + ["cifar10-jpeg"])
        lines.append(f"  or run on the lossy JPEG copy of CIFAR-10, reported under its own name cifar10-jpeg "
                     f"(not comparable with the paper's CIFAR-10 numbers): --datasets {jpeg}")
    if others:
        lines.append(f"  or run without {name}: --datasets {','.join(others)}")
    return ("\n" + "\n".join(lines)) if lines else ""


def _check_data_for_dry_run(datasets: Sequence[str], data_dir: str | None, find_missing) -> int:
    """Say whether the suite's data is there (presence only: nothing is read, verified or created).

    Exit 2 when a real run would certainly stop (a file missing that cannot be downloaded);
    a file that a real run would download is reported, and the dry run stays a success.
    """
    problems, fatal = [], False
    for name in datasets:
        err = find_missing(name, data_dir)
        if err is None:
            continue
        from datasets import can_download

        fatal = fatal or not can_download(name, data_dir)
        problems.append(str(err) + _without_dataset_hint(name, datasets))
    if not problems:
        print(f"data: {', '.join(datasets)} found (checksums are verified when a run loads them)")
        return EXIT_OK
    print("data problems (a real run " + ("would stop" if fatal else "would try to download the missing files")
          + "):\n" + "\n".join(problems), file=sys.stderr)
    return EXIT_BAD_INPUT if fatal else EXIT_OK


def _tuple(values):
    return tuple(values) if values else None


def _expected(jobs):
    import pandas as pd

    rows = []
    for job in jobs:
        e = job.experiment
        rows.append({"job_key": job.key, "dataset": e.dataset, "normal_class": e.normal_class, "k_l": e.k_l,
                     "gamma_l": e.gamma_l, "gamma_p": e.gamma_p, "seed": e.seed, "selection": job.selection, "scale": job.scale,
                     "detector": job.detector, "rerun": job.rerun_command()})
    return pd.DataFrame(rows)


def _write_plan(store, jobs) -> None:
    """The planned jobs, so reports can list what is missing from an unfinished run."""
    path = store.out_dir / "planned_jobs.csv"
    tmp = path.with_suffix(".tmp")
    _expected(jobs).to_csv(tmp, index=False)
    tmp.replace(path)


def _report(store, expected, print_table: bool) -> int:
    import pandas as pd

    if not store.path.exists():
        raise UsageError(f"no runs CSV at {store.path}; run a suite with --out {store.out_dir} first")
    if expected is None and (store.out_dir / "planned_jobs.csv").exists():
        expected = pd.read_csv(store.out_dir / "planned_jobs.csv")
    try:
        from .reports import format_markdown_table, write_reports
    except ImportError as exc:
        print(f"note: reports are not available ({exc})", file=sys.stderr)
        return EXIT_OK
    paths = write_reports(store.path, store.out_dir, expected=expected)
    if print_table:
        print(format_markdown_table(store.path))
    print(f"reports: {len(paths)} files in {store.out_dir / 'reports'}; open these first:")
    for path in _headline_reports(paths):
        print(f"  {path}")
    return EXIT_OK


def _headline_reports(paths: list[Path]) -> list[Path]:
    """The paper-style tables and figures among the written reports, then the index (written last)."""
    headline = [p for p in paths if p.name.startswith(("table1_", "table2_")) and p.suffix == ".md"]
    headline += [p for p in paths if p.name.startswith(("fig2_", "fig3_")) and p.suffix == ".png"]
    return headline + paths[-1:]
