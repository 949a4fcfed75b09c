"""The journal and the HDF5 snapshot: round trips, torn and damaged records, foreign files."""

from __future__ import annotations

import h5py
import pytest

from mpismac.runhistory import RunHistory
from mpismac.runhistory.folder import JOURNAL, SCENARIO, SNAPSHOT, RunFolderError, load_run
from mpismac.runhistory.journal import JournalWriter, encode, read_journal
from mpismac.runhistory.records import (
    Checkpointed,
    ConfigAdded,
    IncumbentChanged,
    JournalFormatError,
    TrialEnded,
    TrialStarted,
    decode,
)
from mpismac.runhistory.snapshot import SnapshotError, read_snapshot, write_snapshot
from mpismac.runhistory.state import RunState
from mpismac.scenario import Scenario
from mpismac.trial import Status, TrialInfo, TrialValue

pytestmark = pytest.mark.fast


def _records(n: int, first: int = 0):
    """Journal records (as JSON objects) of n trials."""
    out = []
    for i in range(first, first + n):
        config = {"x": i % 15 - 5.0 + 0.001 * i, "y": 1.0}
        info = TrialInfo(i, i, config, "inst" if i % 2 else None, i, 3.0 if i % 3 else None)
        out.append(ConfigAdded(i, info.config, "sobol"))
        out.append(TrialStarted.of(info, 100.0 + i, worker=i % 3, rank=0, counters={"n": i + 1}))
        if i % 4 != 3:  # every 4th stays running
            status = Status.SUCCESS if i % 5 else Status.CRASHED
            out.append(TrialEnded(i, TrialValue((float(i),) if status == Status.SUCCESS else (float("inf"),),
                                                status, 100.0 + i, 101.0 + i, {"k": [i, "v"]})))
        if i % 6 == 0:
            out.append(IncumbentChanged(i, i, (float(i),), float(i), i + 1))
    out.append(Checkpointed({"n": first + n}, 12.5, 3.0))
    return [r.to_json() for r in out]


def _state(space, records):
    state = RunState(RunHistory(space, ("cost",)))
    state.replay(decode(r) for r in records)
    return state


def _same(a: RunState, b: RunState):
    ra, rb = a.runhistory, b.runhistory
    assert ra.configs == rb.configs and ra.origins == rb.origins
    assert ra.trials == rb.trials and ra.trajectory == rb.trajectory
    assert (ra.vectors() == rb.vectors()).all()
    assert a.optimizer_state == b.optimizer_state and a.walltime_used == b.walltime_used


def test_journal_round_trip(tmp_path, space):
    writer = JournalWriter(tmp_path / JOURNAL)
    records = _records(30)
    for r in records:
        writer.append(r)
    writer.close()
    read = read_journal(tmp_path / JOURNAL)
    assert read.records[1:] == records and not read.torn and read.skipped == 0
    assert read.end == (tmp_path / JOURNAL).stat().st_size


@pytest.mark.parametrize("cut", [1, 5, 20, -1])
def test_torn_last_record_is_ignored_and_cut_off_on_append(tmp_path, cut):
    path = tmp_path / JOURNAL
    writer = JournalWriter(path)
    for r in _records(5):
        writer.append(r)
    writer.close()
    data = path.read_bytes()
    last = data.rstrip(b"\n").rfind(b"\n") + 1
    path.write_bytes(data[: last + cut] if cut > 0 else data[:-1])  # a kill mid-write
    read = read_journal(path)
    assert read.torn and len(read.records) == len(_records(5))  # the format record + all but the last
    assert read.end == last
    writer = JournalWriter(path, read.end)  # resume: the torn tail is cut, appending goes on
    writer.append({"op": "state", "state": {}, "walltime_used": 1.0})
    writer.close()
    again = read_journal(path)
    assert not again.torn and again.records[-1]["walltime_used"] == 1.0


def test_damaged_middle_record_is_skipped(tmp_path):
    path = tmp_path / JOURNAL
    lines = [encode({"op": "state", "state": {"i": i}, "walltime_used": 0.0}) for i in range(5)]
    lines[2] = lines[2].replace(b'"i":2', b'"i":7')  # checksum no longer matches
    path.write_bytes(b"".join(lines))
    read = read_journal(path)
    assert [r["state"]["i"] for r in read.records] == [0, 1, 3, 4] and read.skipped == 1


def test_unknown_record_is_refused(space):
    with pytest.raises(JournalFormatError, match="newer"):
        decode({"op": "teleport"})
    with pytest.raises(JournalFormatError, match="'start' record that does not read"):
        decode({"op": "start", "trial": 0})


def test_a_record_that_contradicts_the_run_is_refused_before_it_is_written(tmp_path, space):
    """The one writer applies a record before it appends it: a trial ended twice, or started
    on a configuration the run does not have, is refused and never reaches the journal, and a
    journal that holds one names the record when it is read back."""
    from mpismac.runhistory.folder import Recorder

    state = RunState(RunHistory(space, ("cost",)))
    recorder = Recorder(tmp_path, "configspace: {}\n", state, None)
    for record in _records(2):
        recorder.write(decode(record))
    size = recorder.journal.offset
    ended = TrialEnded(0, TrialValue((1.0,)))
    with pytest.raises(JournalFormatError, match="trial 0 ends, but it is not running"):
        recorder.write(ended)
    with pytest.raises(JournalFormatError, match="configuration 7, which is not in the run"):
        recorder.write(TrialStarted(5, 7, None, 0, None, 1.0))
    assert recorder.journal.offset == size and state.runhistory.trials[0].status == Status.CRASHED
    recorder.journal.append(ended.to_json())  # as a damaged journal might hold it
    recorder.close()
    (tmp_path / SCENARIO).write_text(Scenario(configspace=space).to_yaml())
    with pytest.raises(RunFolderError, match="the 'end' record at byte .* cannot be replayed"):
        load_run(tmp_path)


def test_snapshot_round_trip(tmp_path, space):
    state = _state(space, _records(40))
    write_snapshot(tmp_path / SNAPSHOT, state, "name: x\n", journal_offset=1234)
    snap = read_snapshot(tmp_path / SNAPSHOT)
    _same(snap.state, state)
    assert snap.journal_offset == 1234 and snap.scenario_yaml == "name: x\n"
    assert not (tmp_path / (SNAPSHOT + ".tmp")).exists()
    with h5py.File(tmp_path / SNAPSHOT, "r") as f:  # the documented layout
        assert f.attrs["format"] == "mpismac-runhistory" and f.attrs["format_version"] == 1
        assert f["configs/vector"].shape == (40, 2) and f["trials/cost"].shape == (40, 1)
        assert set(f["trials"]) >= {"trial_id", "config_id", "instance", "seed", "budget", "cost", "status",
                                    "start_time", "end_time", "worker", "origin_rank", "additional_info"}


def test_snapshot_plus_journal_tail_equals_full_replay(tmp_path, space):
    scenario = Scenario(configspace=space, facade="random")
    (tmp_path / SCENARIO).write_text(scenario.to_yaml())
    writer = JournalWriter(tmp_path / JOURNAL)
    head, tail = _records(20), _records(15, first=20)
    for r in head:
        writer.append(r)
    write_snapshot(tmp_path / SNAPSHOT, _state(space, head), scenario.to_yaml(), writer.offset)
    for r in tail:
        writer.append(r)
    writer.close()
    loaded = load_run(tmp_path)
    _same(loaded.state, _state(space, head + tail))
    (tmp_path / SNAPSHOT).write_bytes(b"garbage, not HDF5")  # a damaged snapshot: the journal still has it all
    _same(load_run(tmp_path).state, _state(space, head + tail))


def test_foreign_and_newer_files_are_refused(tmp_path, space):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["data"] = [1, 2, 3]
    with pytest.raises(SnapshotError, match="not an mpismac runhistory"):
        read_snapshot(tmp_path / "other.h5")
    write_snapshot(tmp_path / SNAPSHOT, _state(space, _records(3)), "", 0)
    with h5py.File(tmp_path / SNAPSHOT, "r+") as f:
        f.attrs["format_version"] = 2
    with pytest.raises(SnapshotError, match="newer"):
        read_snapshot(tmp_path / SNAPSHOT)
    with pytest.raises(RunFolderError, match="not an mpismac run folder"):
        load_run(tmp_path / "nothing")


def _folder_with_config(run_dir, space, values):
    """A run folder whose journal's first config record (checksum good) holds `values`."""
    run_dir.mkdir(parents=True)
    (run_dir / SCENARIO).write_text(Scenario(configspace=space).to_yaml())
    writer = JournalWriter(run_dir / JOURNAL)
    for r in _records(3):
        writer.append({**r, "values": values} if r["op"] == "config" and r["id"] == 0 else r)
    writer.close()
    return run_dir


@pytest.mark.parametrize("values,why", [({"x": 100.0, "y": 1.0}, "is not allowed for hyperparameter"),
                                        ({"z": 1.0, "x": 1.0, "y": 1.0}, "Unknown hyperparameter(s) {'z'}")],
                         ids=["outside", "unknown"])
def test_a_config_record_off_the_space_is_refused_and_skipped_as_input(tmp_path, space, caplog, values, why):
    """A well-formed record whose configuration the space does not hold (an edited file): reading
    is refused naming the file, in one line; pSMAC's input_dirs skip the folder with one warning."""
    from mpismac.runhistory.shared import ForeignRuns
    from mpismac.space import configspace_to_json

    bad = _folder_with_config(tmp_path / "in" / "bad", space, values)
    with pytest.raises(RunFolderError) as err:
        load_run(bad)
    assert str(bad / JOURNAL) in str(err.value) and why in str(err.value) and "\n" not in str(err.value)
    good = _folder_with_config(tmp_path / "in" / "good", space, {"x": 1.0, "y": 1.0})
    foreign = ForeignRuns((str(tmp_path / "in" / "*"),), tmp_path / "own", configspace_to_json(space), ("cost",))
    for _ in range(2):
        runs = foreign.poll(set())
        assert runs and {source for source, _ in runs} == {str(good)}
    warnings = [r.getMessage() for r in caplog.records if "skipping" in r.getMessage()]
    assert len(warnings) == 1 and str(bad) in warnings[0] and why in warnings[0]


def test_a_damaged_configuration_record_costs_its_trials_only(tmp_path, space):
    """One flipped byte in a `config` record: the record is skipped (bad checksum), the records
    that need it are left out with a warning, the rest of the run reads, and the run resumes
    to its budget with configuration ids that still match the journal."""
    import os

    from mpismac import optimize

    from .conftest import DATA

    scenario = Scenario(configspace=space, facade="random", deterministic=True, n_trials=4, name="d",
                        output_directory=str(tmp_path), target=f"{DATA / 'targets.py'}:quadratic")
    run_dir = optimize(None, scenario, show_progress=False).path
    journal = run_dir / JOURNAL
    data = bytearray(journal.read_bytes())
    data[data.index(b'"op":"config"') + 20] ^= 1  # inside the first configuration's values
    journal.write_bytes(bytes(data))
    os.remove(run_dir / SNAPSHOT)
    rh = load_run(run_dir).state.runhistory
    assert sorted(rh.trials) == [1, 2, 3] and rh.lost(0) and len(rh.configs) == 4
    result = optimize(None, scenario.replace(n_trials=6), show_progress=False)
    assert result.n_finished == 6  # the 3 read back and 3 new ones: the lost trial 0 is made up for
    again = load_run(run_dir).state.runhistory
    assert sorted(again.trials) == [1, 2, 3, 4, 5, 6] and len(again.configs) == 7
    assert all(r.status == Status.SUCCESS for r in again.trials.values())
