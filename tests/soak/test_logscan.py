"""LogFollower: only what was appended, only the named events, a half-written line waits."""
from p4mobility.soak.logscan import LogFollower


def test_follows_appended_lines_and_waits_for_a_finished_line(tmp_path):
    log = tmp_path / "node.log"
    log.write_text('{"ts": 1, "event": "reconciled"}\n')
    f = LogFollower(log)  # from the end: the line above is history
    assert f.new_events("reconciled") == []
    with open(log, "a") as w:
        w.write('{"ts": 2, "event": "pbu_rx"}\n{"ts": 3, "event": "reconciled", "read": 5}\n{"ts": 4, "ev')
    assert f.new_events("reconciled") == [{"ts": 3, "event": "reconciled", "read": 5}]
    with open(log, "a") as w:
        w.write('ent": "state_restored"}\nnot json "event": "state_restored"\n')
    assert f.new_events("state_restored", "reconciled") == [{"ts": 4, "event": "state_restored"}]
    assert LogFollower(log, from_end=False).new_events("reconciled")[0]["ts"] == 1
    assert LogFollower(tmp_path / "absent.log").new_events("x") == []
